#include "kernels/interleave.h"

#include "kernels/matmul_q4.h"
#include "kernels/matmul_q8_0.h"
#include "mamba2/error.h"

namespace mamba2::kernels {

static_assert(kQ8_0UnitRows == kInterleaveRows && kQ4UnitRows == kInterleaveRows);

WeightLayout interleaved_layout(DType type, int64_t n, int64_t k) {
  if (type == DType::kQ8_0 && q8_0_interleave_supported(n, k)) {
    return WeightLayout::kQ8_0Interleaved16;
  }
  if (q4_interleave_supported(type, n, k)) {
    return type == DType::kQ4_0 ? WeightLayout::kQ4_0Interleaved16
                                : WeightLayout::kQ4_KInterleaved16;
  }
  return WeightLayout::kRows;
}

int64_t interleaved_bytes(WeightLayout layout, DType type, int64_t n, int64_t k) {
  return layout == WeightLayout::kQ8_0Interleaved16 ? q8_0_interleaved_bytes(n, k)
                                                    : q4_interleaved_bytes(type, n, k);
}

void interleave(WeightLayout layout, DType type, const std::byte* rows, int64_t n, int64_t k,
                int64_t n_begin, int64_t n_end, std::byte* out) {
  switch (layout) {
    case WeightLayout::kQ8_0Interleaved16:
      if (type != DType::kQ8_0) break;
      return interleave_q8_0(rows, n, k, n_begin, n_end, out);
    case WeightLayout::kQ4_0Interleaved16:
      if (type != DType::kQ4_0) break;
      return interleave_q4(type, rows, n, k, n_begin, n_end, out);
    case WeightLayout::kQ4_KInterleaved16:
      if (type != DType::kQ4_K) break;
      return interleave_q4(type, rows, n, k, n_begin, n_end, out);
    case WeightLayout::kRows:
      break;
  }
  throw Error("interleave", std::string(dtype_name(type)) + " weights have no such layout");
}

}  // namespace mamba2::kernels
