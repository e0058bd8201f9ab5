// Ends a streamed reply at the first of several stop strings without ever printing the stop
// string: text that might be the start of one is held back until the next piece decides.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mamba2 {

class StopStringFilter {
 public:
  explicit StopStringFilter(std::vector<std::string> stops = {});

  // Takes the next piece of the reply and returns what may be printed now. Once a stop string
  // has appeared, returns the text before it, sets stopped(), and returns nothing afterwards.
  std::string push(std::string_view piece);
  // The text held back at the end of a reply that did not stop.
  std::string flush();
  bool stopped() const { return stopped_; }
  void reset();  // for the next reply

 private:
  std::vector<std::string> stops_;
  std::string pending_;
  bool stopped_ = false;
};

}  // namespace mamba2
