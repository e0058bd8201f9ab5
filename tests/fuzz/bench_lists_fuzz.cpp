// mamba2-bench's list flags (-p 16-4096*4,64 ...), as llama-bench's syntax reads them: any text
// gives values within the bounds or one Error, never more than kMaxListValues values.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <utility>

#include "bench_report/bench_lists.h"
#include "mamba2/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const auto& [min, max] : {std::pair<int64_t, int64_t>{0, int64_t{1} << 24}, {1, 1024}}) {
    try {
      const auto values = mamba2::apps::parse_int_list(text, "-p", min, max);
      if (values.empty() || values.size() > mamba2::apps::kMaxListValues) std::abort();
      for (int64_t value : values) {
        if (value < min || value > max) std::abort();
      }
    } catch (const mamba2::Error&) {
    }
  }
  try {
    mamba2::apps::parse_name_list(text, "--type");
  } catch (const mamba2::Error&) {
  }
  return 0;
}
