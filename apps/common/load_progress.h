// "<program>: preparing weights: layer 12/64" rewritten in place on a terminal while a model
// is prepared (seconds for a large q8_0 or f16 file), and erased when it is done or when the
// load fails (so an error starts a line of its own); nothing when the stream is not a terminal,
// so logs and pipes stay clean.
#pragma once

#include <cstdio>

#include "mamba2/model.h"

namespace mamba2::apps {

class LoadProgress {
 public:
  // On stderr, shown when it is a terminal.
  explicit LoadProgress(const char* program);
  LoadProgress(const char* program, std::FILE* out, bool terminal);
  ~LoadProgress();
  LoadProgress(const LoadProgress&) = delete;
  LoadProgress& operator=(const LoadProgress&) = delete;

  // For Model / load_model; refers to this object, which must outlive the load.
  Model::PrepareProgress callback();

 private:
  void erase();

  const char* program_;
  std::FILE* out_;
  bool terminal_;
  bool shown_ = false;  // a progress line is on screen
};

}  // namespace mamba2::apps
