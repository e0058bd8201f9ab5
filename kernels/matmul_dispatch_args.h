// The arguments of a projection whose weights may be of any type: Y = X * W^T (+ bias), with W
// stored [N, K] row-major in its own element type (f32, bf16 or q8_0 rows) and X, Y in f32.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mamba2/dtype.h"

namespace mamba2::kernels {

// How W's rows are laid out in memory.
enum class WeightLayout : uint8_t {
  kRows,               // as stored: row after row of w_type
  kQ8_0Interleaved16,  // q8_0 rearranged by interleave_q8_0() for the AVX512-VNNI kernels
};

struct TypedMatmulArgs {
  const float* x;  // [T, K], row stride ld_x
  int64_t ld_x;
  DType w_type;
  const std::byte* w;  // [N, K] rows of w_type: dtype_bytes(w_type, K) bytes each
  const float* bias;   // [N] or null
  float* y;            // [T, N], row stride ld_y
  int64_t ld_y;
  int64_t tokens;  // T
  int64_t k;       // K
  int64_t n;       // N
  WeightLayout w_layout = WeightLayout::kRows;
};

}  // namespace mamba2::kernels
