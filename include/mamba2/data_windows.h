// Training batches drawn from a token sequence: random windows of seq_len + 1 tokens whose starts
// depend only on (seed, step, row), so any step's batch can be drawn again after a resume without
// saving generator state.
#pragma once

#include <cstdint>
#include <vector>

namespace mamba2 {

class DataWindows {
 public:
  // Throws Error when `tokens` is shorter than one window.
  DataWindows(std::vector<int32_t> tokens, int64_t seq_len, uint64_t seed);

  // [batch, seq_len + 1] tokens of step `step`.
  std::vector<int32_t> batch(int64_t step, int64_t batch_size) const;

  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }

 private:
  std::vector<int32_t> tokens_;
  int64_t seq_len_;
  uint64_t seed_;
};

}  // namespace mamba2
