// ggml's Q8_0 weight type: blocks of 32 weights sharing one f16 scale, each weight an int8, so
// w[j] ~= d * qs[j]. 8.5 bits per weight.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mamba2 {

inline constexpr int64_t kQ8_0BlockElems = 32;  // ggml's QK8_0

struct BlockQ8_0 {
  uint16_t d;                  // scale, IEEE half
  int8_t qs[kQ8_0BlockElems];  // quants
};
static_assert(sizeof(BlockQ8_0) == 34, "Q8_0 blocks are packed: 2-byte scale + 32 quants");
static_assert(alignof(BlockQ8_0) == 2);

// ggml's quantize_row_q8_0_ref: per block d = amax / 127 and qs[j] = roundf(x[j] / d) (0 when the
// block is all zeros). Any float is safe: a quant that is not finite is -128. `n` must be a
// multiple of 32 (throws Error otherwise). `dst` receives n / 32 blocks of 34 bytes and need not
// be aligned.
void quantize_row_q8_0(const float* src, std::byte* dst, int64_t n);
// dst[j] = f16_to_f32(d) * qs[j] for `n` (multiple of 32) weights.
void dequantize_row_q8_0(const std::byte* src, float* dst, int64_t n);

// One block, for tests and callers that hold typed blocks.
BlockQ8_0 quantize_block_q8_0(const float* src);

}  // namespace mamba2
