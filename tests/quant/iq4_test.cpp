// IQ4_NL and IQ4_XS blocks computed by hand. Properties shared by every block type:
// block_quants_test.cpp; bytes against llama.cpp: llamacpp_quants_test.cpp.
#include "quant/iq4.h"

#include <gtest/gtest.h>

#include <vector>

namespace mamba2 {
namespace {

TEST(Iq4, LevelsAreGgmls) {
  const int8_t ggml[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                           1,    13,   25,  38,  53,  69,  89,  113};
  for (int i = 0; i < 16; ++i) EXPECT_EQ(kIq4Levels[i], ggml[i]) << i;
}

TEST(Iq4, NlBlockOnTheLevelsIsExact) {
  // x[j] = level[j % 16] / 2. The search starts with -127 on the extreme weight (a mirrored, poor
  // fit) and finds d = 0.5, with every weight on its own level.
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = 0.5f * kIq4Levels[j % 16];
  const BlockIQ4_NL block = quantize_block_iq4_nl(x.data());
  EXPECT_EQ(block.d, 0x3800);  // 0.5
  for (int j = 0; j < 16; ++j) EXPECT_EQ(block.qs[j], 0x11 * j) << j;
  float y[32];
  dequantize_block_iq4_nl(block, y);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], x[j]) << j;
}

TEST(Iq4, NlZeroBlockPointsAtTheLevelNearestZero) {
  // As ggml: d = 0 and every index 8 (level 1), which dequantizes to 0.
  const std::vector<float> zeros(32, 0.0f);
  const BlockIQ4_NL block = quantize_block_iq4_nl(zeros.data());
  EXPECT_EQ(block.d, 0);
  for (uint8_t q : block.qs) EXPECT_EQ(q, 0x88);
}

TEST(Iq4, XsSubBlockScalesOnTheGrid) {
  // Sub-block ib holds s_ib * level[j % 16] with s_ib = (32 - 4 ib) / 64: the largest scale 0.5
  // gives d = -0.5 / 32 = -1/64, and sub-block ib the 6-bit scale -(32 - 4 ib) + 32 = 4 ib.
  std::vector<float> x(256);
  for (int ib = 0; ib < 8; ++ib) {
    for (int j = 0; j < 32; ++j) {
      x[32 * ib + j] = static_cast<float>(32 - 4 * ib) / 64 * kIq4Levels[j % 16];
    }
  }
  const BlockIQ4_XS block = quantize_block_iq4_xs(x.data());
  EXPECT_EQ(block.d, 0xA400);  // -1/64
  // Stored 4 ib: low nibbles 0, 4, 8, 12, 0, 4, 8, 12; top bits 0 0 0 0 1 1 1 1.
  EXPECT_EQ(block.scales_l[0], 0x40);
  EXPECT_EQ(block.scales_l[1], 0xC8);
  EXPECT_EQ(block.scales_l[2], 0x40);
  EXPECT_EQ(block.scales_l[3], 0xC8);
  EXPECT_EQ(block.scales_h, 0x5500);
  for (int i = 0; i < 128; ++i) EXPECT_EQ(block.qs[i], 0x11 * (i % 16)) << i;
  float y[256];
  dequantize_block_iq4_xs(block, y);
  for (int i = 0; i < 256; ++i) EXPECT_EQ(y[i], x[i]) << i;
}

TEST(Iq4, XsZeroBlockHasANegativeZeroScale) {
  // ggml's d = -max_scale / 32 is -0 for an all-zero super-block; the sub-block scales are then 0
  // (stored 32) and every index 8.
  const std::vector<float> zeros(256, 0.0f);
  const BlockIQ4_XS block = quantize_block_iq4_xs(zeros.data());
  EXPECT_EQ(block.d, 0x8000);
  EXPECT_EQ(block.scales_h, 0xAAAA);
  for (uint8_t s : block.scales_l) EXPECT_EQ(s, 0x00);
  for (uint8_t q : block.qs) EXPECT_EQ(q, 0x88);
  float y[256];
  dequantize_block_iq4_xs(block, y);
  for (float v : y) EXPECT_EQ(v, 0.0f);
}

}  // namespace
}  // namespace mamba2
