// Percentiles of the latencies the load test collects (nearest rank, as vLLM's and
// llama-server's benchmarks report them).
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

namespace mamba2::loadtest {

// The p-th percentile (0 < p <= 100) of `values`; NaN for none.
inline double percentile(std::vector<double> values, double p) {
  if (values.empty()) return std::nan("");
  std::ranges::sort(values);
  const auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

inline double median(std::vector<double> values) { return percentile(std::move(values), 50); }

}  // namespace mamba2::loadtest
