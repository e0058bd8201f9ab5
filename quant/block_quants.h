// Rows of ggml's block-quantized weight types, each way: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 (blocks of
// 32), Q2_K, Q3_K, Q4_K, Q5_K, Q6_K (256), IQ4_NL (32) and IQ4_XS (256). The quantizers are
// ggml's reference quantizers, and give the bytes llama.cpp's llama-quantize writes for a tensor
// when it has no importance matrix; the dequantizers give ggml's dequantize_row_* (and gguf-py's
// gguf.quants.dequantize) values bit for bit. One block per type: legacy_quants.h, q8_0.h,
// k_quants.h, iq4.h.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mamba2/dtype.h"

namespace mamba2 {

// Whether `type` is one of the block types above.
bool is_block_quant(DType type);

// Quantizes `n` floats to `type` at `dst` (dtype_bytes(type, n) bytes, need not be aligned). Any
// float is safe to quantize; only finite rows are meaningful. Throws Error when `type` is not a
// block type or `n` is not a whole number of its blocks.
void quantize_row(DType type, const float* src, std::byte* dst, int64_t n);

// Dequantizes `n` weights of `type` at `src` (dtype_bytes(type, n) bytes, need not be aligned).
// Any bytes are safe to read. Throws Error as quantize_row does.
void dequantize_row(DType type, const std::byte* src, float* dst, int64_t n);

}  // namespace mamba2
