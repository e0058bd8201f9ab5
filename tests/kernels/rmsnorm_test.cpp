#include "kernels/rmsnorm.h"

#include "tests/kernels/kernel_test_util.h"

namespace mamba2::kernels {
namespace {

using testing::expect_close;
using testing::for_each_simd_level;
using testing::ragged_lengths;
using testing::random_vector;

TEST(RmsNorm, MatchesReferenceAtEveryLevelAndLength) {
  for_each_simd_level([](SimdLevel level) {
    for (int64_t n : ragged_lengths()) {
      SCOPED_TRACE(n);
      const auto x = random_vector(n, 1, -3.0f, 3.0f);
      const auto w = random_vector(n, 2);
      std::vector<float> expected(n), actual(n);
      ref::rmsnorm(x.data(), w.data(), expected.data(), n, 1e-5f);
      std::vector<float> residual = x;
      dispatch_at(level, RmsNormKernel{}, residual.data(), nullptr, w.data(), actual.data(), n,
                  1e-5f);
      expect_close(actual, expected, 1e-5f, 1e-5f);
    }
  });
}

TEST(RmsNorm, AddUpdatesResidualThenNormalises) {
  for_each_simd_level([](SimdLevel level) {
    for (int64_t n : ragged_lengths()) {
      SCOPED_TRACE(n);
      const auto x = random_vector(n, 3);
      const auto w = random_vector(n, 4);
      auto expected_residual = random_vector(n, 5);
      auto actual_residual = expected_residual;
      std::vector<float> expected(n), actual(n);
      ref::add_rmsnorm(expected_residual.data(), x.data(), w.data(), expected.data(), n, 1e-5f);
      dispatch_at(level, RmsNormKernel{}, actual_residual.data(), x.data(), w.data(), actual.data(),
                  n, 1e-5f);
      expect_close(actual_residual, expected_residual, 0.0f);
      expect_close(actual, expected, 1e-5f, 1e-5f);
    }
  });
}

TEST(RmsNorm, KnownValues) {
  // x = [3, 4]: mean square 12.5, so y = x / sqrt(12.5 + eps) * w.
  const float x[2] = {3.0f, 4.0f};
  const float w[2] = {1.0f, 2.0f};
  float y[2];
  rmsnorm(x, w, y, 2, 0.0f);
  EXPECT_NEAR(y[0], 3.0f / std::sqrt(12.5f), 1e-6f);
  EXPECT_NEAR(y[1], 8.0f / std::sqrt(12.5f), 1e-6f);
}

}  // namespace
}  // namespace mamba2::kernels
