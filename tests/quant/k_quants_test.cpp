// K-quant layouts checked on hand-built super-blocks: each field set by hand lands on the weights
// ggml-common.h says it does. Properties shared by every block type: block_quants_test.cpp; the
// quantizers against llama.cpp's bytes: llamacpp_quants_test.cpp.
#include "quant/k_quants.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace mamba2 {
namespace {

TEST(KQuants, Q2_KScalesMinimumsAndCrumbs) {
  BlockQ2_K block{};
  block.d = 0x3800;        // 0.5
  block.dmin = 0x3400;     // 0.25
  block.scales[0] = 0x21;  // sub-block 0: scale 1, minimum 2
  block.scales[5] = 0x13;  // sub-block 5 (weights 80..95): scale 3, minimum 1
  block.qs[0] = 0x03;      // weight 0: q = 3
  block.qs[16] = 0x20;     // weight 80 = chunk 0, byte 16, bits 4..5: q = 2
  float y[256];
  dequantize_block_q2_K(block, y);
  EXPECT_EQ(y[0], 0.5f * 1 * 3 - 0.25f * 2);
  EXPECT_EQ(y[1], -0.25f * 2);
  EXPECT_EQ(y[80], 0.5f * 3 * 2 - 0.25f * 1);
  EXPECT_EQ(y[200], 0.0f);  // sub-block 12: scale and minimum 0
}

TEST(KQuants, Q3_KSixBitSignedScalesAndHighBits) {
  BlockQ3_K block{};
  block.d = 0x3C00;  // 1
  // Sub-block 0 scale 5 (stored 37 = 0b10'0101): low nibble in byte 0, top bits in byte 8.
  block.scales[0] = 0x05;
  block.scales[8] = 0x02;
  // Sub-block 13 scale -3 (stored 29 = 0b01'1101): low nibble high in byte 5, top bits at bit 6
  // of byte 9.
  block.scales[5] = 0xD0;
  block.scales[9] = 0x40;
  block.qs[3] = 0x01;        // weight 3: low bits 1 ...
  block.hmask[3] = 0x01;     // ... and its high bit: q = 1
  block.qs[32 + 16] = 0x30;  // weight 208 = chunk 1, byte 16, bits 4..5: 3 ...
  block.hmask[16] = 0x40;    // ... high bit 6: q = 3
  float y[256];
  dequantize_block_q3_K(block, y);
  EXPECT_EQ(y[3], 5.0f * 1);
  EXPECT_EQ(y[4], 5.0f * -4);  // no high bit: q - 4
  EXPECT_EQ(y[208], -3.0f * 3);
  EXPECT_EQ(y[100], -32.0f * -4);  // a zero scale byte is -32
}

// Sub-block 1 scale 10 / min 4, and sub-block 6 scale 45 / min 33, which need the top bits.
template <class Block>
void set_q4_k_scales(Block& block) {
  block.d = 0x3C00;     // 1
  block.dmin = 0x3800;  // 0.5
  block.scales[1] = 10;
  block.scales[5] = 4;
  block.scales[10] = 0x1D;  // low nibbles: scale 0xD, min 0x1
  block.scales[2] |= 0x80;  // scale's top bits 0b10
  block.scales[6] |= 0x80;  // min's top bits 0b10
}

TEST(KQuants, Q4_KPackedScalesAndNibbles) {
  BlockQ4_K block{};
  set_q4_k_scales(block);
  block.qs[7] = 0x30;   // weight 39 = chunk 0, byte 7, high nibble: 3
  block.qs[97] = 0x02;  // weight 193 = chunk 3, byte 1, low nibble: 2
  float y[256];
  dequantize_block_q4_K(block, y);
  EXPECT_EQ(y[39], 10.0f * 3 - 0.5f * 4);
  EXPECT_EQ(y[193], 45.0f * 2 - 0.5f * 33);
  EXPECT_EQ(y[0], 0.0f);
}

TEST(KQuants, Q5_KFifthBits) {
  BlockQ5_K block{};
  set_q4_k_scales(block);
  block.qs[97] = 0x02;  // weight 193: low nibble 2 ...
  block.qh[1] = 0x40;   // ... fifth bit at byte 193 % 32, bit 193 / 32
  float y[256];
  dequantize_block_q5_K(block, y);
  EXPECT_EQ(y[193], 45.0f * 18 - 0.5f * 33);
  EXPECT_EQ(y[194], 45.0f * 0 - 0.5f * 33);
}

TEST(KQuants, Q6_KNibblesAndCrumbs) {
  BlockQ6_K block{};
  block.d = 0x3800;  // 0.5
  block.scales[3] = -4;
  block.scales[12] = 7;
  block.ql[50] = 0x05;  // weight 50: low nibble of byte 50 ...
  block.qh[18] = 0x08;  // ... high bits 2 at bits 2..3 of byte 18: q = 37 - 32 = 5
  block.ql[64] = 0xF0;  // weight 192 = chunk 1, weight 64: high nibble of byte 64 ...
  block.qh[32] = 0x30;  // ... high bits 3 at bits 4..5: q = 63 - 32 = 31
  float y[256];
  dequantize_block_q6_K(block, y);
  EXPECT_EQ(y[50], 0.5f * -4 * 5);
  EXPECT_EQ(y[192], 0.5f * 7 * 31);
  EXPECT_EQ(y[51], 0.5f * -4 * -32);
}

TEST(KQuants, ZeroSuperBlocksAreZeroBytes) {
  const std::vector<float> zeros(256, 0.0f);
  const std::vector<std::byte> none(256, std::byte{0});
  const BlockQ2_K q2 = quantize_block_q2_K(zeros.data());
  const BlockQ3_K q3 = quantize_block_q3_K(zeros.data());
  const BlockQ4_K q4 = quantize_block_q4_K(zeros.data());
  const BlockQ5_K q5 = quantize_block_q5_K(zeros.data());
  const BlockQ6_K q6 = quantize_block_q6_K(zeros.data());
  EXPECT_EQ(std::memcmp(&q2, none.data(), sizeof q2), 0);
  EXPECT_EQ(std::memcmp(&q3, none.data(), sizeof q3), 0);
  EXPECT_EQ(std::memcmp(&q4, none.data(), sizeof q4), 0);
  EXPECT_EQ(std::memcmp(&q5, none.data(), sizeof q5), 0);
  EXPECT_EQ(std::memcmp(&q6, none.data(), sizeof q6), 0);
}

}  // namespace
}  // namespace mamba2
