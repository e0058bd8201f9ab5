#include "quant/q8_0.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "mamba2/error.h"
#include "quant/float16.h"
#include "quant/ggml_rounding.h"

namespace mamba2 {
namespace {

void check_whole_blocks(const char* where, int64_t n) {
  if (n < 0 || n % kQ8_0BlockElems != 0) {
    throw Error(where, std::to_string(n) + " weights is not a whole number of 32-weight blocks");
  }
}

}  // namespace

BlockQ8_0 quantize_block_q8_0(const float* src) {
  float amax = 0.0f;
  for (int64_t j = 0; j < kQ8_0BlockElems; ++j) {
    const float magnitude = std::fabs(src[j]);
    amax = amax > magnitude ? amax : magnitude;  // ggml's MAX(), NaN handling included
  }
  // Same float operations in the same order as ggml, so the bytes match llama-quantize's.
  const float d = amax / ((1 << 7) - 1);
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  BlockQ8_0 block;
  block.d = f32_to_f16(d);
  for (int64_t j = 0; j < kQ8_0BlockElems; ++j) {
    // A finite block rounds into -127..127. A NaN or an infinity (x * id is one when the block
    // holds one, or when d is so small that 1 / d overflows) becomes -128, as x86's cvttps2dq and
    // saturating packs make it in ggml's AVX2 quantizer and ours (kernels/matmul_q8_0_avx2.cpp),
    // instead of the undefined behaviour of casting it to int8_t.
    const int q = ggml_rounding::truncate_to_int(std::roundf(src[j] * id));
    block.qs[j] = static_cast<int8_t>(std::clamp(q, -128, 127));
  }
  return block;
}

void quantize_row_q8_0(const float* src, std::byte* dst, int64_t n) {
  check_whole_blocks("quantize_row_q8_0", n);
  for (int64_t b = 0; b < n / kQ8_0BlockElems; ++b) {
    const BlockQ8_0 block = quantize_block_q8_0(src + b * kQ8_0BlockElems);
    std::memcpy(dst + b * sizeof(BlockQ8_0), &block, sizeof block);
  }
}

void dequantize_row_q8_0(const std::byte* src, float* dst, int64_t n) {
  check_whole_blocks("dequantize_row_q8_0", n);
  for (int64_t b = 0; b < n / kQ8_0BlockElems; ++b) {
    BlockQ8_0 block;
    std::memcpy(&block, src + b * sizeof(BlockQ8_0), sizeof block);
    const float d = f16_to_f32(block.d);
    for (int64_t j = 0; j < kQ8_0BlockElems; ++j) {
      dst[b * kQ8_0BlockElems + j] = static_cast<float>(block.qs[j]) * d;
    }
  }
}

}  // namespace mamba2
