// ggml's non-linear 4-bit weight types: each weight is a 4-bit index into a fixed table of 16
// levels (kIq4Levels, denser near zero than a uniform grid), times a scale:
//   IQ4_NL  blocks of 32,  one f16 scale d: w = d * level[q]                    4.5 bits per weight
//   IQ4_XS  super-blocks of 256 = 8 x 32, 6-bit sub-block scales against an f16 d:
//           w = d * (sc - 32) * level[q]                                        4.25 bits
// Layouts as ggml-common.h. The quantizers are ggml's quantize_iq4_nl / quantize_iq4_xs without
// importance weights (what llama-quantize runs), and write the same bytes.
#pragma once

#include <cstdint>

namespace mamba2 {

inline constexpr int64_t kIQ4_NLBlockElems = 32;   // ggml's QK4_NL
inline constexpr int64_t kIQ4_XSBlockElems = 256;  // ggml's QK_K

// ggml's kvalues_iq4nl.
inline constexpr int8_t kIq4Levels[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                          1,    13,   25,  38,  53,  69,  89,  113};

// Quants of each 32 weights: weight j (0..15) in the low nibble of byte j, weight j + 16 in its
// high nibble.

struct BlockIQ4_NL {
  uint16_t d;      // scale, IEEE half
  uint8_t qs[16];  // [32] level indices
};
static_assert(sizeof(BlockIQ4_NL) == 18, "IQ4_NL blocks are packed: half + 16 bytes");
static_assert(alignof(BlockIQ4_NL) == 2);

struct BlockIQ4_XS {
  uint16_t d;           // scale of the sub-block scales, IEEE half
  uint16_t scales_h;    // [8] top 2 bits of the 6-bit sub-block scales, sub-block j at bit 2j
  uint8_t scales_l[4];  // [8] low 4 bits, sub-block 2i in the low nibble of byte i
  uint8_t qs[128];      // [256] level indices
};
static_assert(sizeof(BlockIQ4_XS) == 136, "IQ4_XS blocks are packed: 2 halves + 4 + 128 bytes");
static_assert(alignof(BlockIQ4_XS) == 2);

// The 6-bit scale of sub-block ib (0..7) of an IQ4_XS block (its scales_l and scales_h), less
// its bias of 32.
int iq4_xs_scale(const uint8_t* scales_l, uint16_t scales_h, int ib);

// One block each way. Rows: quantize_row / dequantize_row in quant/block_quants.h.
BlockIQ4_NL quantize_block_iq4_nl(const float* x);
BlockIQ4_XS quantize_block_iq4_xs(const float* x);

void dequantize_block_iq4_nl(const BlockIQ4_NL& block, float* y);
void dequantize_block_iq4_xs(const BlockIQ4_XS& block, float* y);

}  // namespace mamba2
