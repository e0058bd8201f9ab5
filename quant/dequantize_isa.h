// The instruction sets dequantize_row (block_quants.h) runs at. The byte unpacking of the slower
// block types (Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, IQ4_NL, IQ4_XS) has an AVX2 and an AVX-512 version
// (dequantize_avx2.cpp, dequantize_avx512.cpp), chosen at run time by CPUID, each giving the
// scalar reference's floats bit for bit: the same products and sums in the same order, never
// contracted into an fma. The other block types dequantize in scalar code (their projections have
// integer kernels; only loading and conversion widen them).
// Intrinsics files as float16_f16c.cpp, not xsimd kernels as kernels/*_simd.cpp: the work is byte
// shuffles (IQ4's level table, the fifth and third bits spread to bytes) and int8 -> float
// widening, which xsimd 8 does not express; and quant/ sits below kernels/, so loading and file
// conversion gain as the projections do.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mamba2/dtype.h"

namespace mamba2 {

enum class DequantIsa { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

// Whether this CPU runs `isa`, and the best one it runs.
bool dequant_isa_supported(DequantIsa isa);
DequantIsa best_dequant_isa();

// dequantize_row at `isa`, or the best one below it this CPU runs (kScalar: the reference). The
// kernels pass their own level (MAMBA2_SIMD caps it), tests every level.
void dequantize_row_at(DequantIsa isa, DType type, const std::byte* src, float* dst, int64_t n);

namespace dequantize_detail {
// `blocks` blocks of `type` at `src` to `dst`; false (nothing written) for a type without a
// version at this instruction set. Call only when the CPU runs it.
bool dequantize_blocks_avx2(DType type, const std::byte* src, float* dst, int64_t blocks);
bool dequantize_blocks_avx512(DType type, const std::byte* src, float* dst, int64_t blocks);
}  // namespace dequantize_detail

}  // namespace mamba2
