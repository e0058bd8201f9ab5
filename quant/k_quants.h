// ggml's K-quant weight types: super-blocks of 256 weights split into sub-blocks of 16 or 32, each
// sub-block with a 4-, 6- or 8-bit scale (and for Q2_K, Q4_K and Q5_K a minimum) that is itself
// quantized against the super-block's f16 scale d (and dmin):
//   Q2_K  16 x 16, w = d * sc * q - dmin * m,   q in 0..3     2.625 bits per weight
//   Q3_K  16 x 16, w = d * (sc - 32) * (q - 4), q in 0..7     3.4375 bits
//   Q4_K   8 x 32, w = d * sc * q - dmin * m,   q in 0..15    4.5 bits
//   Q5_K   8 x 32, w = d * sc * q - dmin * m,   q in 0..31    5.5 bits
//   Q6_K  16 x 16, w = d * sc * (q - 32),       q in 0..63    6.5625 bits (sc a signed byte)
// Layouts as ggml-common.h. The quantizers are ggml's quantize_row_q*_K_ref, what llama-quantize
// runs for these types without an importance matrix, and write the same bytes.
#pragma once

#include <cstdint>

namespace mamba2 {

inline constexpr int64_t kKBlockElems = 256;  // ggml's QK_K

// Quant bits are packed by chunks of 128 (2-bit fields) or 64 (4-bit fields) weights: byte l of a
// chunk holds weights l, l + 32, ... of the chunk, from the lowest bits up.

struct BlockQ2_K {
  uint8_t scales[16];  // [16] sub-block scale (low nibble) and minimum (high nibble)
  uint8_t qs[64];      // [256] 2-bit quants, 4 per byte
  uint16_t d;          // scale of the sub-block scales, IEEE half
  uint16_t dmin;       // scale of the sub-block minimums, IEEE half
};
static_assert(sizeof(BlockQ2_K) == 84, "Q2_K blocks are packed: 16 + 64 + 2 halves");
static_assert(alignof(BlockQ2_K) == 2);

struct BlockQ3_K {
  uint8_t hmask[32];   // [256] third bits: bit b of byte i is weight 32 * b + i
  uint8_t qs[64];      // [256] low 2 bits, 4 per byte
  uint8_t scales[12];  // [16] 6-bit scales: low nibbles in bytes 0..7, high 2 bits in 8..11
  uint16_t d;          // scale of the sub-block scales, IEEE half
};
static_assert(sizeof(BlockQ3_K) == 110, "Q3_K blocks are packed: 32 + 64 + 12 + half");
static_assert(alignof(BlockQ3_K) == 2);

// Q3_K's 6-bit scale of sub-block j (0..15) of its packed `scales`, less its bias of 32.
int q3_scale(const uint8_t* packed, int j);

// Q4_K and Q5_K pack 8 six-bit scales and 8 six-bit minimums into 12 bytes (ggml's
// get_scale_min_k4): sub-blocks 0..3 whole in bytes 0..3 (scale) and 4..7 (min); sub-blocks 4..7
// keep their low nibbles in bytes 8..11 and their top 2 bits in the top bits of bytes 0..7.
inline constexpr int kKScaleBytes = 12;  // ggml's K_SCALE_SIZE

// The 6-bit scale and minimum of sub-block j (0..7) of Q4_K or Q5_K's packed `scales`.
void k_scale_min(const uint8_t* packed, int j, int* scale, int* min);

struct BlockQ4_K {
  uint16_t d;                    // scale of the sub-block scales, IEEE half
  uint16_t dmin;                 // scale of the sub-block minimums, IEEE half
  uint8_t scales[kKScaleBytes];  // [8] scales and [8] minimums, 6 bits each
  uint8_t qs[128];               // [256] 4-bit quants
};
static_assert(sizeof(BlockQ4_K) == 144, "Q4_K blocks are packed: 2 halves + 12 + 128");
static_assert(alignof(BlockQ4_K) == 2);

struct BlockQ5_K {
  uint16_t d;                    // scale of the sub-block scales, IEEE half
  uint16_t dmin;                 // scale of the sub-block minimums, IEEE half
  uint8_t scales[kKScaleBytes];  // [8] scales and [8] minimums, 6 bits each
  uint8_t qh[32];                // [256] fifth bits: bit b of byte i is weight 32 * b + i
  uint8_t qs[128];               // [256] low 4 bits
};
static_assert(sizeof(BlockQ5_K) == 176, "Q5_K blocks are packed: 2 halves + 12 + 32 + 128");
static_assert(alignof(BlockQ5_K) == 2);

struct BlockQ6_K {
  uint8_t ql[128];    // [256] low 4 bits; per 128-weight chunk, byte l holds weights l and l + 64,
                      // byte l + 32 weights l + 32 and l + 96
  uint8_t qh[64];     // [256] high 2 bits, 4 per byte
  int8_t scales[16];  // [16] signed sub-block scales
  uint16_t d;         // scale of the sub-block scales, IEEE half
};
static_assert(sizeof(BlockQ6_K) == 210, "Q6_K blocks are packed: 128 + 64 + 16 + half");
static_assert(alignof(BlockQ6_K) == 2);

// One super-block of 256 weights each way. Rows: quantize_row / dequantize_row in
// quant/block_quants.h.
BlockQ2_K quantize_block_q2_K(const float* x);
BlockQ3_K quantize_block_q3_K(const float* x);
BlockQ4_K quantize_block_q4_K(const float* x);
BlockQ5_K quantize_block_q5_K(const float* x);
BlockQ6_K quantize_block_q6_K(const float* x);

void dequantize_block_q2_K(const BlockQ2_K& block, float* y);
void dequantize_block_q3_K(const BlockQ3_K& block, float* y);
void dequantize_block_q4_K(const BlockQ4_K& block, float* y);
void dequantize_block_q5_K(const BlockQ5_K& block, float* y);
void dequantize_block_q6_K(const BlockQ6_K& block, float* y);

}  // namespace mamba2
