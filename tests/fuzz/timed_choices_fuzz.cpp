// The file of timed choices in the user's cache directory (runtime/io/timed_choices.h): whatever
// it holds parses, and what parsed writes back and parses to the same choices.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "runtime/io/timed_choices.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const mamba2::TimedChoices choices =
      mamba2::parse_timed_choices(std::string_view(reinterpret_cast<const char*>(data), size));
  if (choices.size() > mamba2::kMaxTimedChoices) std::abort();
  if (mamba2::parse_timed_choices(mamba2::format_timed_choices(choices)) != choices) std::abort();
  return 0;
}
