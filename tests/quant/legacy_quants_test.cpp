// Q4_0, Q4_1, Q5_0 and Q5_1 blocks computed by hand. Properties shared by every block type:
// block_quants_test.cpp; bytes against llama.cpp: llamacpp_quants_test.cpp.
#include "quant/legacy_quants.h"

#include <gtest/gtest.h>

#include <vector>

namespace mamba2 {
namespace {

std::vector<float> ramp(float step, float offset) {
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = step * static_cast<float>(j) + offset;
  return x;
}

TEST(LegacyQuants, Q4_0RampHandComputed) {
  // x[j] = j - 16: the extreme -16 gets q = 0, so d = -16 / -8 = 2 and q = trunc(x / 2 + 8.5).
  const BlockQ4_0 block = quantize_block_q4_0(ramp(1.0f, -16.0f).data());
  EXPECT_EQ(block.d, 0x4000);  // 2.0
  // qs[0]: x[0] = -16 -> 0, x[16] = 0 -> 8. qs[1]: x[1] = -15 -> trunc(1.0) = 1, x[17] -> 9.
  // qs[15]: x[15] = -1 -> 8, x[31] = 15 -> 16, capped at 15.
  EXPECT_EQ(block.qs[0], 0x80);
  EXPECT_EQ(block.qs[1], 0x91);
  EXPECT_EQ(block.qs[15], 0xF8);
  float y[32];
  dequantize_block_q4_0(block, y);
  EXPECT_EQ(y[0], -16.0f);
  EXPECT_EQ(y[1], -14.0f);
  EXPECT_EQ(y[16], 0.0f);
  EXPECT_EQ(y[31], 14.0f);
}

TEST(LegacyQuants, Q4_0ScaleTakesTheSignOfTheExtreme) {
  const BlockQ4_0 block = quantize_block_q4_0(ramp(-1.0f, 16.0f).data());  // 16 .. -15
  EXPECT_EQ(block.d, 0xC000);                                              // -2.0
  EXPECT_EQ(block.qs[0] & 0x0F, 0);                                        // 16 = -2 * (0 - 8)
}

TEST(LegacyQuants, Q4_1RampHandComputed) {
  // x[j] = j: m = 0, d = 31 / 15 = 2.0667, whose nearest half is 0x4022 (2.06640625).
  const BlockQ4_1 block = quantize_block_q4_1(ramp(1.0f, 0.0f).data());
  EXPECT_EQ(block.d, 0x4022);
  EXPECT_EQ(block.m, 0x0000);
  // q = trunc(x * 15 / 31 + 0.5): x = 1 -> 0, x = 2 -> 1, x = 17 -> 8, x = 18 -> 9, x = 31 -> 15.
  EXPECT_EQ(block.qs[1], 0x80);
  EXPECT_EQ(block.qs[2], 0x91);
  EXPECT_EQ(block.qs[15] >> 4, 15);
  float y[32];
  dequantize_block_q4_1(block, y);
  EXPECT_EQ(y[2], 2.06640625f);
  EXPECT_EQ(y[31], 15 * 2.06640625f);
}

TEST(LegacyQuants, Q5_0RampIsExactAndSetsFifthBits) {
  // x[j] = j - 16: d = 1 and q = j, so weights 16..31 carry a fifth bit.
  const BlockQ5_0 block = quantize_block_q5_0(ramp(1.0f, -16.0f).data());
  EXPECT_EQ(block.d, 0x3C00);
  for (int j = 0; j < 16; ++j) EXPECT_EQ(block.qs[j], 0x11 * j) << j;
  EXPECT_EQ(block.qh[0], 0x00);
  EXPECT_EQ(block.qh[1], 0x00);
  EXPECT_EQ(block.qh[2], 0xFF);
  EXPECT_EQ(block.qh[3], 0xFF);
  float y[32];
  dequantize_block_q5_0(block, y);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], static_cast<float>(j - 16)) << j;
}

TEST(LegacyQuants, Q5_1RampIsExact) {
  // x[j] = j / 2: m = 0, d = 15.5 / 31 = 0.5 and q = j.
  const BlockQ5_1 block = quantize_block_q5_1(ramp(0.5f, 0.0f).data());
  EXPECT_EQ(block.d, 0x3800);
  EXPECT_EQ(block.m, 0x0000);
  EXPECT_EQ(block.qs[3], 0x33);
  EXPECT_EQ(block.qh[3], 0xFF);
  float y[32];
  dequantize_block_q5_1(block, y);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], 0.5f * static_cast<float>(j)) << j;
}

TEST(LegacyQuants, Q5_1KeepsTheOffset) {
  BlockQ5_1 block{};
  block.d = 0x3800;  // 0.5
  block.m = 0xC000;  // -2
  block.qs[4] = 0x0A;
  block.qh[2] = 0x10;   // fifth bit of weight 20
  block.qs[4] |= 0x30;  // weight 20's low nibble: 3
  float y[32];
  dequantize_block_q5_1(block, y);
  EXPECT_EQ(y[4], 0.5f * 10 - 2);
  EXPECT_EQ(y[20], 0.5f * 19 - 2);
  EXPECT_EQ(y[0], -2.0f);
}

}  // namespace
}  // namespace mamba2
