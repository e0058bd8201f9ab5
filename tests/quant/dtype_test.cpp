#include "mamba2/dtype.h"

#include <gtest/gtest.h>

#include <limits>

namespace mamba2 {
namespace {

TEST(DType, BytesOfWholeBlocks) {
  EXPECT_EQ(dtype_bytes(DType::kF32, 10), 40u);
  EXPECT_EQ(dtype_bytes(DType::kBF16, 3), 6u);
  EXPECT_EQ(dtype_bytes(DType::kQ8_0, 64), 68u);
}

TEST(DType, RejectsPartialBlocksNegativeAndOverflow) {
  EXPECT_FALSE(dtype_bytes(DType::kQ8_0, 33));
  EXPECT_FALSE(dtype_bytes(DType::kF32, -1));
  EXPECT_FALSE(dtype_bytes(DType::kF32, std::numeric_limits<int64_t>::max()));
}

TEST(DType, NamesAndGgmlIdsRoundTrip) {
  for (DType type : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0,
                     DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ2_K, DType::kQ3_K,
                     DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kIQ4_NL, DType::kIQ4_XS}) {
    EXPECT_EQ(dtype_from_name(dtype_name(type)), type);
    EXPECT_EQ(dtype_from_ggml(static_cast<uint32_t>(type)), type);
  }
  EXPECT_EQ(dtype_from_name("Q8_0"), DType::kQ8_0);
  EXPECT_EQ(dtype_from_name("q4_k"), DType::kQ4_K);
  EXPECT_EQ(dtype_from_name("IQ4_XS"), DType::kIQ4_XS);
  EXPECT_FALSE(dtype_from_name("q4"));
  EXPECT_FALSE(dtype_from_name("iq2_xxs"));
  EXPECT_FALSE(dtype_from_ggml(4));   // Q4_2, removed from ggml
  EXPECT_FALSE(dtype_from_ggml(16));  // IQ2_XXS
}

TEST(DType, GgmlIdsAndNames) {
  // ggml.h's enum ggml_type and ggml's type_traits names (what gguf tools print).
  EXPECT_EQ(static_cast<uint32_t>(DType::kQ4_0), 2u);
  EXPECT_EQ(static_cast<uint32_t>(DType::kQ5_1), 7u);
  EXPECT_EQ(static_cast<uint32_t>(DType::kQ2_K), 10u);
  EXPECT_EQ(static_cast<uint32_t>(DType::kQ6_K), 14u);
  EXPECT_EQ(static_cast<uint32_t>(DType::kIQ4_NL), 20u);
  EXPECT_EQ(static_cast<uint32_t>(DType::kIQ4_XS), 23u);
  EXPECT_EQ(dtype_name(DType::kQ4_K), "q4_K");
  EXPECT_EQ(dtype_name(DType::kIQ4_NL), "iq4_nl");
  EXPECT_EQ(dtype_bytes(DType::kQ4_K, 512), 288u);
  EXPECT_FALSE(dtype_bytes(DType::kQ4_K, 32));
}

}  // namespace
}  // namespace mamba2
