// dequantize_row at every instruction set this CPU runs gives the scalar reference's floats bit
// for bit, for every block type (the SIMD ones: Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, IQ4_NL, IQ4_XS),
// over rows of 1 to 17 blocks, unaligned, from random bytes (every bit pattern of quants, scales
// and fifth or third bits) and from quantized weights.
#include "quant/dequantize_isa.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "quant/block_quants.h"

namespace mamba2 {
namespace {

constexpr DType kBlockTypes[] = {DType::kQ4_0, DType::kQ4_1, DType::kQ5_0,   DType::kQ5_1,
                                 DType::kQ8_0, DType::kQ2_K, DType::kQ3_K,   DType::kQ4_K,
                                 DType::kQ5_K, DType::kQ6_K, DType::kIQ4_NL, DType::kIQ4_XS};

const char* isa_name(DequantIsa isa) {
  switch (isa) {
    case DequantIsa::kAvx512:
      return "avx512";
    case DequantIsa::kAvx2:
      return "avx2";
    case DequantIsa::kScalar:
      break;
  }
  return "scalar";
}

// A NaN scale (random f16 bytes) gives NaNs either way; any other float must match in its bits.
void expect_same_floats(const std::vector<float>& actual, const std::vector<float>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    if (std::isnan(expected[i])) {
      ASSERT_TRUE(std::isnan(actual[i])) << "weight " << i;
    } else {
      ASSERT_EQ(std::bit_cast<uint32_t>(actual[i]), std::bit_cast<uint32_t>(expected[i]))
          << "weight " << i << ": " << actual[i] << " vs " << expected[i];
    }
  }
}

// Rows of `blocks` blocks of `type`, at byte offset 1 of a buffer (unaligned), dequantized at
// every level and compared with the scalar reference.
void check_every_level(DType type, const std::vector<std::byte>& row, int64_t n) {
  std::vector<std::byte> shifted(row.size() + 1);
  std::copy(row.begin(), row.end(), shifted.begin() + 1);
  std::vector<float> expected(static_cast<size_t>(n));
  dequantize_row_at(DequantIsa::kScalar, type, row.data(), expected.data(), n);
  for (DequantIsa isa : {DequantIsa::kAvx2, DequantIsa::kAvx512}) {
    if (!dequant_isa_supported(isa)) continue;
    SCOPED_TRACE(isa_name(isa));
    std::vector<float> actual(static_cast<size_t>(n) + 1);
    dequantize_row_at(isa, type, shifted.data() + 1, actual.data() + 1, n);
    expect_same_floats(std::vector<float>(actual.begin() + 1, actual.end()), expected);
  }
}

TEST(DequantizeIsa, EveryLevelGivesTheReferenceFloatsFromAnyBytes) {
  std::mt19937 rng(17);
  for (DType type : kBlockTypes) {
    for (int64_t blocks : {1, 2, 3, 5, 17}) {
      SCOPED_TRACE(std::string(dtype_name(type)) + " x" + std::to_string(blocks));
      const int64_t n = blocks * dtype_info(type).block_elems;
      std::vector<std::byte> row(*dtype_bytes(type, n));
      for (std::byte& b : row) b = static_cast<std::byte>(rng());
      check_every_level(type, row, n);
    }
  }
}

TEST(DequantizeIsa, EveryLevelGivesTheReferenceFloatsOfQuantizedWeights) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  for (DType type : kBlockTypes) {
    SCOPED_TRACE(dtype_name(type));
    const int64_t n = 3 * 256;
    std::vector<float> x(n);
    for (float& v : x) v = normal(rng);
    std::vector<std::byte> row(*dtype_bytes(type, n));
    quantize_row(type, x.data(), row.data(), n);
    check_every_level(type, row, n);
  }
}

TEST(DequantizeIsa, BestLevelIsSupportedAndUsedByDequantizeRow) {
  EXPECT_TRUE(dequant_isa_supported(DequantIsa::kScalar));
  EXPECT_TRUE(dequant_isa_supported(best_dequant_isa()));
  std::mt19937 rng(9);
  std::vector<std::byte> row(*dtype_bytes(DType::kQ3_K, 512));
  for (std::byte& b : row) b = static_cast<std::byte>(rng());
  std::vector<float> best(512), plain(512);
  dequantize_row(DType::kQ3_K, row.data(), best.data(), 512);
  dequantize_row_at(best_dequant_isa(), DType::kQ3_K, row.data(), plain.data(), 512);
  expect_same_floats(best, plain);
}

}  // namespace
}  // namespace mamba2
