// Helpers for kernel tests: random inputs, closeness checks, and running a test body once for
// every SIMD level the CPU supports.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/simd.h"

namespace mamba2::kernels::testing {

inline std::vector<float> random_vector(size_t size, uint32_t seed, float lo = -1.0f,
                                        float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> values(size);
  for (float& value : values) value = dist(rng);
  return values;
}

// |a - b| <= abs_tol + rel_tol * |b| for every element.
inline void expect_close(const std::vector<float>& actual, const std::vector<float>& expected,
                         float abs_tol, float rel_tol = 0.0f) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    ASSERT_LE(std::fabs(actual[i] - expected[i]), abs_tol + rel_tol * std::fabs(expected[i]))
        << "at index " << i << ": " << actual[i] << " vs " << expected[i];
  }
}

// |a - b| <= rel * max(1, max |expected|) for every element: a tolerance relative to the
// output's magnitude, for sums of many terms.
inline void expect_near_scaled(const std::vector<float>& actual, const std::vector<float>& expected,
                               float rel) {
  ASSERT_EQ(actual.size(), expected.size());
  float scale = 1.0f;
  for (float v : expected) scale = std::max(scale, std::fabs(v));
  expect_close(actual, expected, rel * scale);
}

// Runs body(level) for every SIMD level this CPU can execute.
template <class Body>
void for_each_simd_level(Body&& body) {
  for (SimdLevel level : {SimdLevel::kSse2, SimdLevel::kAvx2, SimdLevel::kAvx512}) {
    if (!path_supported(level)) continue;
    SCOPED_TRACE(std::string("simd level ") + std::string(path_name(level)));
    body(level);
  }
}

// Lengths that exercise empty-ish, sub-vector, exact-vector and ragged tails at every width.
inline const std::vector<int64_t>& ragged_lengths() {
  static const std::vector<int64_t> lengths = {1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 64, 100, 768};
  return lengths;
}

}  // namespace mamba2::kernels::testing
