// Properties every ggml block type shares, through quantize_row / dequantize_row: block sizes,
// round-trip error, zero rows, outliers, partial blocks, unaligned rows, and dequantization of
// arbitrary bytes against the per-weight formulas. Byte-exactness against llama.cpp:
// llamacpp_quants_test.cpp.
#include "quant/block_quants.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "mamba2/error.h"
#include "quant/iq4.h"
#include "quant/k_quants.h"
#include "quant/legacy_quants.h"
#include "quant/q8_0.h"
#include "tests/quant/reference_dequantize.h"

namespace mamba2 {
namespace {

struct TypeCase {
  DType type;
  size_t block_struct_bytes;  // sizeof the quant/ block struct
  int bits;                   // bits per quant
};

std::string case_name(const ::testing::TestParamInfo<TypeCase>& param) {
  return std::string(dtype_name(param.param.type));
}

class BlockQuants : public ::testing::TestWithParam<TypeCase> {
 protected:
  DType type() const { return GetParam().type; }
  int64_t block_elems() const { return dtype_info(type()).block_elems; }
  std::vector<std::byte> quantize(const std::vector<float>& x) const {
    std::vector<std::byte> bytes(*dtype_bytes(type(), static_cast<int64_t>(x.size())));
    quantize_row(type(), x.data(), bytes.data(), static_cast<int64_t>(x.size()));
    return bytes;
  }
  std::vector<float> round_trip(const std::vector<float>& x) const {
    const std::vector<std::byte> bytes = quantize(x);
    std::vector<float> y(x.size());
    dequantize_row(type(), bytes.data(), y.data(), static_cast<int64_t>(y.size()));
    return y;
  }
  // Three half-steps of a `bits`-bit grid over the block's [-absmax, absmax]: rounding is half a
  // step; the quantized sub-block scales, clamping and IQ4's uneven levels stay within three.
  float error_bound(const float* block) const {
    float amax = 0.0f;
    for (int64_t i = 0; i < block_elems(); ++i) amax = std::max(amax, std::fabs(block[i]));
    return 3.0f * amax / static_cast<float>(1 << GetParam().bits);
  }
};

std::vector<float> gaussian_row(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n));
  for (float& v : x) v = normal(rng);
  return x;
}

TEST_P(BlockQuants, BlockSizesAreGgmls) {
  const testing::ReferenceBlock ggml = testing::reference_block(type());
  EXPECT_EQ(dtype_info(type()).block_elems, ggml.elems);
  EXPECT_EQ(dtype_info(type()).block_bytes, ggml.bytes);
  EXPECT_EQ(GetParam().block_struct_bytes, static_cast<size_t>(ggml.bytes));
  EXPECT_TRUE(is_block_quant(type()));
}

TEST_P(BlockQuants, RoundTripErrorIsWithinThreeHalfSteps) {
  for (uint32_t seed : {1u, 2u}) {
    const std::vector<float> x = gaussian_row(8 * 256, seed);
    const std::vector<float> y = round_trip(x);
    double err2 = 0.0, x2 = 0.0;
    for (size_t i = 0; i < x.size(); ++i) {
      const size_t block = i / static_cast<size_t>(block_elems()) * block_elems();
      ASSERT_LE(std::fabs(x[i] - y[i]), error_bound(&x[block])) << "weight " << i;
      err2 += (x[i] - y[i]) * (x[i] - y[i]);
      x2 += x[i] * x[i];
    }
    // The typical error is well under the worst case: RMS below a step of the grid over +-1 rms.
    EXPECT_LT(std::sqrt(err2 / x2), 2.0 / (1 << GetParam().bits));
  }
}

TEST_P(BlockQuants, ZeroRowsComeBackZero) {
  const std::vector<float> y = round_trip(std::vector<float>(512, 0.0f));
  for (float v : y) ASSERT_EQ(v, 0.0f);
}

TEST_P(BlockQuants, OneHugeValueOnlyMovesItsOwnBlock) {
  const int64_t n = 4 * 256;
  const std::vector<float> x = gaussian_row(n, 3);
  const std::vector<std::byte> plain = quantize(x);
  const int64_t block_bytes = dtype_info(type()).block_bytes;
  for (const int64_t at : {int64_t{5}, int64_t{300}, n - 1}) {
    for (const float huge : {1e4f, -1e4f}) {
      std::vector<float> spiked = x;
      spiked[at] = huge;
      const std::vector<std::byte> bytes = quantize(spiked);
      const std::vector<float> y = round_trip(spiked);
      const int64_t own = at / block_elems();
      for (int64_t b = 0; b < n / block_elems(); ++b) {
        if (b == own) continue;
        ASSERT_EQ(std::memcmp(&bytes[b * block_bytes], &plain[b * block_bytes], block_bytes), 0)
            << "block " << b;
      }
      for (int64_t i = own * block_elems(); i < (own + 1) * block_elems(); ++i) {
        ASSERT_TRUE(std::isfinite(y[i])) << i;
        ASSERT_LE(std::fabs(spiked[i] - y[i]), error_bound(&spiked[own * block_elems()])) << i;
      }
    }
  }
}

TEST_P(BlockQuants, PartialBlocksAreRefused) {
  std::vector<float> x(2 * 256 + 1, 1.0f);
  std::vector<std::byte> bytes(4096);
  for (const int64_t n : {block_elems() + 1, block_elems() - 1, int64_t{-32}}) {
    EXPECT_THROW(quantize_row(type(), x.data(), bytes.data(), n), Error) << n;
    EXPECT_THROW(dequantize_row(type(), bytes.data(), x.data(), n), Error) << n;
  }
  quantize_row(type(), x.data(), bytes.data(), 0);  // no blocks is fine
}

TEST_P(BlockQuants, RowsNeedNoAlignment) {
  const std::vector<float> x = gaussian_row(512, 4);
  const std::vector<std::byte> aligned = quantize(x);
  std::vector<std::byte> buffer(aligned.size() + 1);
  std::vector<float> x_shifted(x.size() + 1);
  std::memcpy(x_shifted.data() + 1, x.data(), x.size() * sizeof(float));
  quantize_row(type(), x_shifted.data() + 1, buffer.data() + 1, 512);
  EXPECT_EQ(std::memcmp(buffer.data() + 1, aligned.data(), aligned.size()), 0);
  std::vector<float> y(513), y_aligned(512);
  dequantize_row(type(), buffer.data() + 1, y.data() + 1, 512);
  dequantize_row(type(), aligned.data(), y_aligned.data(), 512);
  EXPECT_EQ(std::memcmp(y.data() + 1, y_aligned.data(), 512 * sizeof(float)), 0);
}

TEST_P(BlockQuants, AnyBytesDequantizeAsThePerWeightFormula) {
  std::mt19937 rng(5);
  std::vector<std::byte> bytes(*dtype_bytes(type(), 1024));
  for (std::byte& b : bytes) b = static_cast<std::byte>(rng());
  std::vector<float> y(1024);
  dequantize_row(type(), bytes.data(), y.data(), 1024);
  for (int64_t i = 0; i < 1024; ++i) {
    const float expected = testing::reference_weight(type(), bytes.data(), i);
    if (std::isnan(expected)) {
      EXPECT_TRUE(std::isnan(y[i])) << i;  // a random f16 scale may be a NaN
    } else {
      EXPECT_EQ(std::memcmp(&y[i], &expected, sizeof expected), 0) << i << ": " << y[i];
    }
  }
}

INSTANTIATE_TEST_SUITE_P(EveryType, BlockQuants,
                         ::testing::Values(TypeCase{DType::kQ4_0, sizeof(BlockQ4_0), 4},
                                           TypeCase{DType::kQ4_1, sizeof(BlockQ4_1), 4},
                                           TypeCase{DType::kQ5_0, sizeof(BlockQ5_0), 5},
                                           TypeCase{DType::kQ5_1, sizeof(BlockQ5_1), 5},
                                           TypeCase{DType::kQ8_0, sizeof(BlockQ8_0), 8},
                                           TypeCase{DType::kQ2_K, sizeof(BlockQ2_K), 2},
                                           TypeCase{DType::kQ3_K, sizeof(BlockQ3_K), 3},
                                           TypeCase{DType::kQ4_K, sizeof(BlockQ4_K), 4},
                                           TypeCase{DType::kQ5_K, sizeof(BlockQ5_K), 5},
                                           TypeCase{DType::kQ6_K, sizeof(BlockQ6_K), 6},
                                           TypeCase{DType::kIQ4_NL, sizeof(BlockIQ4_NL), 4},
                                           TypeCase{DType::kIQ4_XS, sizeof(BlockIQ4_XS), 4}),
                         case_name);

TEST(BlockQuants, PlainFloatTypesAreNotBlockTypes) {
  std::vector<float> x(32, 1.0f);
  std::vector<std::byte> bytes(128);
  for (DType type : {DType::kF32, DType::kF16, DType::kBF16}) {
    EXPECT_FALSE(is_block_quant(type));
    EXPECT_THROW(quantize_row(type, x.data(), bytes.data(), 32), Error);
    EXPECT_THROW(dequantize_row(type, bytes.data(), x.data(), 32), Error);
  }
}

}  // namespace
}  // namespace mamba2
