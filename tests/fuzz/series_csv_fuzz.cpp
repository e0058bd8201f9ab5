// A CSV series as mamba2-forecast reads it, with both rules for missing cells.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mamba2/error.h"
#include "mamba2/series_csv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (auto missing : {mamba2::MissingCells::kRefuse, mamba2::MissingCells::kLinear}) {
    try {
      mamba2::parse_series_csv(text, {}, missing, "series.csv");
    } catch (const mamba2::Error&) {
    }
  }
  return 0;
}
