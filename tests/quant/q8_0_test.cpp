#include "quant/q8_0.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "mamba2/error.h"
#include "quant/float16.h"
#include "quant/row_conversion.h"

namespace mamba2 {
namespace {

TEST(Q8_0, BlockOfARampHandComputed) {
  // x[j] = j - 16: amax 16, d = 16/127 = 0.12598..., whose nearest half is 0x3008 (0.1259765625).
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j - 16);
  const BlockQ8_0 block = quantize_block_q8_0(x.data());
  EXPECT_EQ(block.d, 0x3008);
  // qs = round(x * 127/16): -16 -> -127, -14 -> -111.125 -> -111, 0 -> 0, 2 -> 15.875 -> 16,
  // 3 -> 23.8125 -> 24, 15 -> 119.0625 -> 119.
  EXPECT_EQ(block.qs[0], -127);
  EXPECT_EQ(block.qs[2], -111);
  EXPECT_EQ(block.qs[16], 0);
  EXPECT_EQ(block.qs[18], 16);
  EXPECT_EQ(block.qs[19], 24);
  EXPECT_EQ(block.qs[31], 119);
}

TEST(Q8_0, BytesOnDiskAreScaleThenQuants) {
  std::vector<float> x(32, 0.0f);
  x[0] = 127.0f;  // d = 1 exactly
  x[1] = 2.5f;    // roundf rounds halves away from zero: 3
  x[2] = -2.5f;   // -3
  x[3] = -127.0f;
  std::vector<std::byte> bytes(34);
  quantize_row_q8_0(x.data(), bytes.data(), 32);
  EXPECT_EQ(bytes[0], std::byte{0x00});  // 0x3C00 little-endian
  EXPECT_EQ(bytes[1], std::byte{0x3C});
  EXPECT_EQ(bytes[2], std::byte{127});
  EXPECT_EQ(bytes[3], std::byte{3});
  EXPECT_EQ(bytes[4], std::byte{0xFD});  // -3
  EXPECT_EQ(bytes[5], std::byte{0x81});  // -127
  for (int j = 6; j < 34; ++j) EXPECT_EQ(bytes[j], std::byte{0}) << j;
}

TEST(Q8_0, ZeroBlockHasZeroScale) {
  std::vector<float> x(32, 0.0f);
  const BlockQ8_0 block = quantize_block_q8_0(x.data());
  EXPECT_EQ(block.d, 0);
  for (int8_t q : block.qs) EXPECT_EQ(q, 0);
}

TEST(Q8_0, DequantizeIsScaleTimesQuant) {
  BlockQ8_0 blocks[2]{};
  blocks[0].d = 0x3800;  // 0.5
  blocks[0].qs[0] = -5;
  blocks[0].qs[31] = 127;
  blocks[1].d = 0x4000;  // 2
  blocks[1].qs[7] = -128;
  std::vector<float> out(64);
  dequantize_row_q8_0(reinterpret_cast<const std::byte*>(blocks), out.data(), 64);
  EXPECT_EQ(out[0], -2.5f);
  EXPECT_EQ(out[31], 63.5f);
  EXPECT_EQ(out[32 + 7], -256.0f);
  EXPECT_EQ(out[1], 0.0f);
}

TEST(Q8_0, RoundTripErrorIsWithinHalfAStep) {
  std::vector<float> x(96);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * static_cast<float>(i)) * 3.0f;
  std::vector<std::byte> bytes(3 * 34);
  quantize_row_q8_0(x.data(), bytes.data(), 96);
  std::vector<float> back(96);
  convert_row_to_f32(DType::kQ8_0, bytes.data(), back.data(), 96);
  for (size_t b = 0; b < 3; ++b) {
    BlockQ8_0 block;
    std::memcpy(&block, bytes.data() + b * 34, 34);
    const float d = f16_to_f32(block.d);
    for (size_t j = 0; j < 32; ++j) {
      // Half a step from rounding plus the scale's own f16 rounding (<= 2^-11 relative, x127).
      EXPECT_NEAR(back[b * 32 + j], x[b * 32 + j], 0.5f * d + 127.0f * d * 0x1.0p-11f);
    }
  }
}

TEST(Q8_0, QuantsThatAreNotFiniteAreMinus128) {
  // The block's NaN or infinity makes its own quant NaN (NaN * id, inf * 0); a block so small that
  // 1 / d overflows makes every quant infinite or NaN. Each becomes -128, as the AVX2 paths give.
  std::vector<float> x(32, 1.0f);
  x[0] = std::numeric_limits<float>::quiet_NaN();  // ggml's MAX() forgets a NaN: amax 1, d 1/127
  BlockQ8_0 block = quantize_block_q8_0(x.data());
  EXPECT_EQ(block.qs[0], -128);
  for (int j = 1; j < 32; ++j) EXPECT_EQ(block.qs[j], 127) << j;

  for (const float inf :
       {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()}) {
    x[0] = inf;  // amax inf: d inf, id 0
    block = quantize_block_q8_0(x.data());
    EXPECT_EQ(block.d, 0x7C00);
    EXPECT_EQ(block.qs[0], -128);
    for (int j = 1; j < 32; ++j) EXPECT_EQ(block.qs[j], 0) << j;
  }

  std::vector<float> tiny(32, 1e-40f);  // subnormal: d = amax / 127 != 0, but 1 / d is inf
  tiny[1] = 0.0f;                       // 0 * inf is NaN
  block = quantize_block_q8_0(tiny.data());
  for (int j = 0; j < 32; ++j) EXPECT_EQ(block.qs[j], -128) << j;
}

TEST(Q8_0, PartialBlocksAreRejected) {
  std::vector<float> x(33, 1.0f);
  std::vector<std::byte> bytes(68);
  EXPECT_THROW(quantize_row_q8_0(x.data(), bytes.data(), 33), Error);
  EXPECT_THROW(dequantize_row_q8_0(bytes.data(), x.data(), 31), Error);
}

}  // namespace
}  // namespace mamba2
