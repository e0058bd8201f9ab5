// Central finite differences for the trainer's gradient tests, in double.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace mamba2::training::testing {

inline std::vector<double> random_values(size_t n, uint64_t seed, double scale = 1.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, scale);
  std::vector<double> v(n);
  for (double& x : v) x = normal(rng);
  return v;
}

// Checks analytic[i] against (loss(v + h e_i) - loss(v - h e_i)) / 2h for every i in [begin, end)
// (all when end < 0). loss reads `values`, which is perturbed in place and restored.
inline void expect_gradient(const std::string& what, std::vector<double>& values,
                            const std::vector<double>& analytic,
                            const std::function<double()>& loss, double tolerance = 1e-6,
                            size_t begin = 0, size_t end = size_t(-1)) {
  ASSERT_EQ(values.size(), analytic.size()) << what;
  end = std::min(end, values.size());
  const double h = 1e-5;
  for (size_t i = begin; i < end; ++i) {
    const double saved = values[i];
    values[i] = saved + h;
    const double up = loss();
    values[i] = saved - h;
    const double down = loss();
    values[i] = saved;
    const double numeric = (up - down) / (2 * h);
    EXPECT_NEAR(analytic[i], numeric, tolerance * (1.0 + std::fabs(numeric)))
        << what << "[" << i << "]";
  }
}

// sum_i weights[i] * out[i]: a scalar loss whose gradient with respect to out is `weights`.
inline double weighted_sum(const std::vector<double>& out, const std::vector<double>& weights) {
  double sum = 0;
  for (size_t i = 0; i < out.size(); ++i) sum += out[i] * weights[i];
  return sum;
}

}  // namespace mamba2::training::testing
