// Training batches drawn from a token sequence or a series: random windows whose starts depend
// only on (seed, step, row), so any step's batch can be drawn again after a resume without saving
// generator state.
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

// A forecaster's windows from a series: `context` rows of inputs, then the `horizon` rows of
// targets after them. Origin t (the first forecast row) has inputs rows [t - context, t) and
// targets rows [t, t + horizon).
class SeriesWindows {
 public:
  // inputs [rows, input_dim], targets [rows, output_dim]. Throws Error when the series is shorter
  // than one window.
  SeriesWindows(std::vector<float> inputs, int64_t input_dim, std::vector<float> targets,
                int64_t output_dim, int64_t context, int64_t horizon, uint64_t seed);

  struct Batch {
    std::vector<float> windows;  // [batch, context, input_dim]
    std::vector<float> targets;  // [batch, horizon, output_dim]
    std::vector<float> last;     // [batch, output_dim] the target row before each origin
  };
  // Step `step`'s batch: random origins whose targets end at or before row `end`.
  Batch random(int64_t step, int64_t batch_size, int64_t end) const;
  // The windows of `origins`, in order.
  Batch at(const std::vector<int64_t>& origins) const;

  int64_t rows() const { return rows_; }
  int64_t context() const { return context_; }
  int64_t horizon() const { return horizon_; }

 private:
  std::vector<float> inputs_, targets_;
  int64_t input_dim_, output_dim_, rows_, context_, horizon_;
  uint64_t seed_;
};

}  // namespace mamba2
