// One f32 projection with padded row strides for X and Y, and the check of a kernel's output
// against the double reference: shared by the row-major and the panel GEMM tests.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/matmul.h"
#include "tests/kernels/kernel_test_util.h"

namespace mamba2::kernels::testing {

struct MatmulCase {
  int64_t tokens, k, n, ld_x, ld_y;
  std::vector<float> x, w, bias, y;  // [T, ld_x], [N, K], [N], [T, ld_y]

  MatmulCase(int64_t t, int64_t k_in, int64_t n_out, uint32_t seed)
      : tokens(t), k(k_in), n(n_out), ld_x(k_in + 3), ld_y(n_out + 2) {
    x = random_vector(tokens * ld_x, seed);
    w = random_vector(n * k, seed + 1);
    bias = random_vector(n, seed + 2);
    y.assign(tokens * ld_y, kUntouched);
  }

  MatmulOperands args(bool with_bias = true) {
    return {.x = {x.data(), tokens, k, ld_x},
            .w = WeightView::f32(w.data(), n, k),
            .bias = with_bias ? bias.data() : nullptr,
            .y = {y.data(), tokens, n, ld_y}};
  }

  static constexpr float kUntouched = -7.0f;  // Y's padding columns must keep it
};

// A float dot product of length K may differ from the double reference by a few roundings of
// its partial sums; bound the error by the size of the terms rather than of the result.
inline void expect_close_to_reference(const MatmulCase& actual, const MatmulCase& expected,
                                      bool with_bias, double relative_tolerance) {
  for (int64_t t = 0; t < actual.tokens; ++t) {
    for (int64_t j = 0; j < actual.ld_y; ++j) {
      const int64_t i = t * actual.ld_y + j;
      if (j >= actual.n) {
        ASSERT_EQ(actual.y[i], MatmulCase::kUntouched)
            << "padding written at token " << t << " column " << j;
        continue;
      }
      double magnitude = with_bias ? std::fabs(actual.bias[j]) : 0.0;
      for (int64_t kk = 0; kk < actual.k; ++kk) {
        magnitude += std::fabs(actual.x[t * actual.ld_x + kk] * actual.w[j * actual.k + kk]);
      }
      ASSERT_NEAR(actual.y[i], expected.y[i], relative_tolerance * magnitude + 1e-7)
          << "token " << t << " row " << j;
    }
  }
}

}  // namespace mamba2::kernels::testing
