#include "quant/float16.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "mamba2/error.h"
#include "quant/row_conversion.h"

namespace mamba2 {
namespace {

float from_bits(uint32_t bits) { return std::bit_cast<float>(bits); }

TEST(Float16, ToF32HandComputed) {
  EXPECT_EQ(f16_to_f32(0x3C00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xC000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x7BFF), 65504.0f);                  // largest finite half
  EXPECT_EQ(f16_to_f32(0x3555), 0.333251953125f);           // 1/3 rounded to 10 mantissa bits
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));     // smallest subnormal
  EXPECT_EQ(f16_to_f32(0x03FF), std::ldexp(1023.0f, -24));  // largest subnormal
  EXPECT_EQ(f16_to_f32(0x0400), std::ldexp(1.0f, -14));     // smallest normal
  EXPECT_EQ(f16_to_f32(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(f16_to_f32(0xFC00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7E00)));
  EXPECT_EQ(std::bit_cast<uint32_t>(f16_to_f32(0x8000)), 0x80000000u);  // -0 keeps its sign
}

TEST(Float16, FromF32HandComputed) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3C00);
  EXPECT_EQ(f32_to_f16(-2.0f), 0xC000);
  EXPECT_EQ(f32_to_f16(0.1f), 0x2E66);  // 0.0999755859375
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7BFF);  // below the halfway point to 65536
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00);  // halfway: ties to even, which is infinity
  EXPECT_EQ(f32_to_f16(1e10f), 0x7C00);
  EXPECT_EQ(f32_to_f16(-std::numeric_limits<float>::infinity()), 0xFC00);
  EXPECT_EQ(f32_to_f16(std::numeric_limits<float>::quiet_NaN()), 0x7E00);
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);  // halfway to 2^-24: ties to even (0)
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -26)), 0x0001);  // 1.5 * 2^-25: rounds up
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -25)), 0x0002);  // 1.5 * 2^-24: ties to even (2)
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -30)), 0x0000);
}

TEST(Float16, FromF32RoundsHalfwayToEven) {
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);  // between 0x3C00 and 0x3C01
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(3.0f, -11)), 0x3C02);  // between 0x3C01 and 0x3C02
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20)), 0x3C01);  // above
}

TEST(Float16, EveryHalfRoundTrips) {
  for (uint32_t bits = 0; bits <= 0xFFFF; ++bits) {
    const auto half = static_cast<uint16_t>(bits);
    const float value = f16_to_f32(half);
    if (std::isnan(value)) {
      EXPECT_EQ(f32_to_f16(value) & 0x7C00, 0x7C00) << bits;
      EXPECT_NE(f32_to_f16(value) & 0x03FF, 0) << bits;
      continue;
    }
    ASSERT_EQ(f32_to_f16(value), half) << bits;
  }
}

// A row of halves as a projection or the converter widens it (F16C where the CPU has it): every
// one of the 65536 halves (subnormals, infinities, NaNs) gives f16_to_f32's float, at lengths
// with and without a ragged tail, from unaligned starts.
TEST(Float16, RowsGiveEachHalfsFloat) {
  std::vector<std::byte> halves(2 * 65536);
  for (uint32_t bits = 0; bits < 65536; ++bits) {
    const auto half = static_cast<uint16_t>(bits);
    std::memcpy(&halves[2 * bits], &half, sizeof half);
  }
  for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{8}, int64_t{13}, int64_t{65536}}) {
    for (int64_t first : {int64_t{0}, int64_t{3}}) {
      const int64_t count = std::min<int64_t>(n, 65536 - first);
      std::vector<float> row(count);
      f16_row_to_f32(&halves[2 * first], row.data(), count);
      for (int64_t i = 0; i < count; ++i) {
        const float expected = f16_to_f32(static_cast<uint16_t>(first + i));
        if (std::isnan(expected)) {
          ASSERT_TRUE(std::isnan(row[i])) << "half " << first + i;
        } else {
          ASSERT_EQ(std::bit_cast<uint32_t>(row[i]), std::bit_cast<uint32_t>(expected))
              << "half " << first + i;
        }
      }
    }
  }
}

TEST(BFloat16, HandComputed) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(bf16_to_f32(0x3F80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0xC040), -3.0f);
  EXPECT_EQ(f32_to_bf16(from_bits(0x3F808000)), 0x3F80);  // halfway, even below
  EXPECT_EQ(f32_to_bf16(from_bits(0x3F818000)), 0x3F82);  // halfway, even above
  EXPECT_EQ(f32_to_bf16(from_bits(0x3F808001)), 0x3F81);  // above halfway
  EXPECT_EQ(f32_to_bf16(from_bits(0x7F7FFFFF)), 0x7F80);  // largest float rounds to infinity
  EXPECT_EQ(f32_to_bf16(from_bits(0x7FA00000)), 0x7FE0);  // signalling NaN becomes quiet
  EXPECT_EQ(f32_to_bf16(from_bits(0xFF800001)), 0xFFC0);  // NaN with low payload stays NaN
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::infinity()), 0x7F80);
}

TEST(ConvertRow, EveryTypeToF32) {
  const uint16_t halves[3] = {0x3C00, 0xC000, 0x3800};  // 1, -2, 0.5
  std::vector<float> out(3);
  convert_row_to_f32(DType::kF16, reinterpret_cast<const std::byte*>(halves), out.data(), 3);
  EXPECT_EQ(out, (std::vector<float>{1.0f, -2.0f, 0.5f}));

  const uint16_t brains[3] = {0x3F80, 0xC040, 0x4120};  // 1, -3, 10
  convert_row_to_f32(DType::kBF16, reinterpret_cast<const std::byte*>(brains), out.data(), 3);
  EXPECT_EQ(out, (std::vector<float>{1.0f, -3.0f, 10.0f}));

  const float floats[3] = {1.5f, -0.25f, 7.0f};
  convert_row_to_f32(DType::kF32, reinterpret_cast<const std::byte*>(floats), out.data(), 3);
  EXPECT_EQ(out, (std::vector<float>{1.5f, -0.25f, 7.0f}));
}

TEST(ConvertRow, FromF32AndBackIsExactForRepresentableValues) {
  const std::vector<float> values = {1.0f, -2.0f, 0.5f, 0.0f, 3.0f, -0.125f};
  for (DType type : {DType::kF32, DType::kF16, DType::kBF16}) {
    std::vector<std::byte> bytes(*dtype_bytes(type, 6));
    convert_row_from_f32(type, values.data(), bytes.data(), 6);
    std::vector<float> back(6);
    convert_row_to_f32(type, bytes.data(), back.data(), 6);
    EXPECT_EQ(back, values) << dtype_name(type);
  }
}

TEST(ConvertRow, UnalignedSourceIsFine) {
  std::vector<std::byte> buffer(7);
  const uint16_t one = 0x3C00;
  std::memcpy(buffer.data() + 1, &one, 2);
  std::memcpy(buffer.data() + 3, &one, 2);
  float out[2];
  convert_row_to_f32(DType::kF16, buffer.data() + 1, out, 2);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], 1.0f);
}

// convert_rows is handed whole tensors: none of zero rows, and a clear error (not a read past the
// rows) for rows that are not whole blocks of either type.
TEST(ConvertRows, ZeroRowsAreNothingAndPartialBlocksAreRefused) {
  const float floats[48] = {};
  std::vector<std::byte> out(1024, std::byte{0x5A});
  convert_rows(DType::kF32, reinterpret_cast<const std::byte*>(floats), DType::kQ8_0, out.data(), 0,
               32);
  EXPECT_EQ(out[0], std::byte{0x5A});
  EXPECT_THROW(convert_rows(DType::kF32, reinterpret_cast<const std::byte*>(floats), DType::kQ8_0,
                            out.data(), 1, 48),
               Error);
  EXPECT_THROW(convert_rows(DType::kQ8_0, out.data(), DType::kF32, out.data() + 512, 1, 48), Error);
}

}  // namespace
}  // namespace mamba2
