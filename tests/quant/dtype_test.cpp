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
  for (DType type : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0}) {
    EXPECT_EQ(dtype_from_name(dtype_name(type)), type);
    EXPECT_EQ(dtype_from_ggml(static_cast<uint32_t>(type)), type);
  }
  EXPECT_EQ(dtype_from_name("Q8_0"), DType::kQ8_0);
  EXPECT_FALSE(dtype_from_name("q4_k"));
  EXPECT_FALSE(dtype_from_ggml(12));
}

}  // namespace
}  // namespace mamba2
