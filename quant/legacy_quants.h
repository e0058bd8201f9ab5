// ggml's first 4- and 5-bit weight types: blocks of 32 weights with one f16 scale d (and, for the
// _1 types, an f16 offset m):
//   Q4_0  w = d * (q - 8),   q in 0..15   4.5 bits per weight
//   Q4_1  w = d * q + m,     q in 0..15   5 bits
//   Q5_0  w = d * (q - 16),  q in 0..31   5.5 bits
//   Q5_1  w = d * q + m,     q in 0..31   6 bits
// Layouts as ggml-common.h. The quantizers are ggml's quantize_row_q*_ref, what llama-quantize runs
// for these types without an importance matrix, and write the same bytes.
#pragma once

#include <cstdint>

namespace mamba2 {

inline constexpr int64_t kLegacyBlockElems = 32;  // ggml's QK4_0, QK4_1, QK5_0, QK5_1

// Quants: weight j (0..15) in the low nibble of qs[j], weight j + 16 in its high nibble. The 5-bit
// types keep each weight's fifth bit in qh, read as a little-endian u32: bit j for weight j.

struct BlockQ4_0 {
  uint16_t d;      // scale, IEEE half
  uint8_t qs[16];  // [32] nibbles
};
static_assert(sizeof(BlockQ4_0) == 18,
              "Q4_0 blocks are packed: 2-byte scale + 16 bytes of nibbles");
static_assert(alignof(BlockQ4_0) == 2);

struct BlockQ4_1 {
  uint16_t d;      // scale, IEEE half
  uint16_t m;      // offset (the block's minimum), IEEE half
  uint8_t qs[16];  // [32] nibbles
};
static_assert(sizeof(BlockQ4_1) == 20, "Q4_1 blocks are packed: 2 halves + 16 bytes of nibbles");
static_assert(alignof(BlockQ4_1) == 2);

struct BlockQ5_0 {
  uint16_t d;      // scale, IEEE half
  uint8_t qh[4];   // [32] fifth bits
  uint8_t qs[16];  // [32] low nibbles
};
static_assert(sizeof(BlockQ5_0) == 22, "Q5_0 blocks are packed: half + 4 + 16 bytes");
static_assert(alignof(BlockQ5_0) == 2);

struct BlockQ5_1 {
  uint16_t d;      // scale, IEEE half
  uint16_t m;      // offset (the block's minimum), IEEE half
  uint8_t qh[4];   // [32] fifth bits
  uint8_t qs[16];  // [32] low nibbles
};
static_assert(sizeof(BlockQ5_1) == 24, "Q5_1 blocks are packed: 2 halves + 4 + 16 bytes");
static_assert(alignof(BlockQ5_1) == 2);

// One block of 32 weights each way. Rows: quantize_row / dequantize_row in quant/block_quants.h.
BlockQ4_0 quantize_block_q4_0(const float* x);
BlockQ4_1 quantize_block_q4_1(const float* x);
BlockQ5_0 quantize_block_q5_0(const float* x);
BlockQ5_1 quantize_block_q5_1(const float* x);

void dequantize_block_q4_0(const BlockQ4_0& block, float* y);
void dequantize_block_q4_1(const BlockQ4_1& block, float* y);
void dequantize_block_q5_0(const BlockQ5_0& block, float* y);
void dequantize_block_q5_1(const BlockQ5_1& block, float* y);

}  // namespace mamba2
