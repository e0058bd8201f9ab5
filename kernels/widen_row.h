// A stored weight row widened to f32 for the dequantizing projections (matmul_dequant.h): the
// same floats as convert_row_to_f32, through the CPU's conversion instructions where it has them
// (f16: F16C), else through convert_row_to_f32 itself.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mamba2/dtype.h"

namespace mamba2::kernels {

// dst[0, n) = row src of n weights of `type` (whole blocks), as convert_row_to_f32 gives them.
void widen_row_to_f32(DType type, const std::byte* src, float* dst, int64_t n);

namespace widen_detail {
// f16 -> f32 with F16C (vcvtph2ps, exact for every input); only after a run-time check.
void widen_f16_f16c(const std::byte* src, float* dst, int64_t n);
}  // namespace widen_detail

}  // namespace mamba2::kernels
