#include "mamba2/data_windows.h"

#include <algorithm>
#include <string>

#include "mamba2/error.h"

namespace mamba2 {
namespace {

// SplitMix64's finaliser: a well-mixed 64-bit hash of a counter.
uint64_t mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The start of window `row` of step `step` among `count`.
uint64_t window_start(uint64_t seed, int64_t step, int64_t row, uint64_t count) {
  return mix(seed ^ mix(uint64_t(step) * 0x100000001b3ULL + uint64_t(row))) % count;
}

}  // namespace

DataWindows::DataWindows(std::vector<int32_t> tokens, int64_t seq_len, uint64_t seed)
    : tokens_(std::move(tokens)), seq_len_(seq_len), seed_(seed) {
  if (static_cast<int64_t>(tokens_.size()) < seq_len + 1) {
    throw Error("training data", "has " + std::to_string(tokens_.size()) +
                                     " tokens, fewer than one window of seq_len + 1 = " +
                                     std::to_string(seq_len + 1));
  }
}

std::vector<int32_t> DataWindows::batch(int64_t step, int64_t batch_size) const {
  const uint64_t starts = tokens_.size() - static_cast<uint64_t>(seq_len_);  // windows that fit
  std::vector<int32_t> out(static_cast<size_t>(batch_size * (seq_len_ + 1)));
  for (int64_t row = 0; row < batch_size; ++row) {
    const uint64_t start = window_start(seed_, step, row, starts);
    std::copy_n(tokens_.begin() + int64_t(start), seq_len_ + 1, out.begin() + row * (seq_len_ + 1));
  }
  return out;
}

SeriesWindows::SeriesWindows(std::vector<float> inputs, int64_t input_dim,
                             std::vector<float> targets, int64_t output_dim, int64_t context,
                             int64_t horizon, uint64_t seed)
    : inputs_(std::move(inputs)),
      targets_(std::move(targets)),
      input_dim_(input_dim),
      output_dim_(output_dim),
      rows_(static_cast<int64_t>(inputs_.size()) / input_dim),
      context_(context),
      horizon_(horizon),
      seed_(seed) {
  if (rows_ < context + horizon) {
    throw Error("series", "has " + std::to_string(rows_) +
                              " rows, fewer than one window of context + horizon = " +
                              std::to_string(context + horizon));
  }
}

SeriesWindows::Batch SeriesWindows::random(int64_t step, int64_t batch_size, int64_t end) const {
  end = std::min(end, rows_);
  if (end < context_ + horizon_)
    throw Error("series", "no window fits before row " + std::to_string(end));
  const auto origins = static_cast<uint64_t>(end - context_ - horizon_ + 1);
  std::vector<int64_t> picked(static_cast<size_t>(batch_size));
  for (int64_t row = 0; row < batch_size; ++row) {
    picked[row] = context_ + static_cast<int64_t>(window_start(seed_, step, row, origins));
  }
  return at(picked);
}

SeriesWindows::Batch SeriesWindows::at(const std::vector<int64_t>& origins) const {
  Batch batch;
  batch.windows.reserve(origins.size() * context_ * input_dim_);
  batch.targets.reserve(origins.size() * horizon_ * output_dim_);
  for (const int64_t t : origins) {
    if (t < context_ || t + horizon_ > rows_) throw Error("series", "window outside the series");
    batch.windows.insert(batch.windows.end(), inputs_.begin() + (t - context_) * input_dim_,
                         inputs_.begin() + t * input_dim_);
    batch.targets.insert(batch.targets.end(), targets_.begin() + t * output_dim_,
                         targets_.begin() + (t + horizon_) * output_dim_);
    batch.last.insert(batch.last.end(), targets_.begin() + (t - 1) * output_dim_,
                      targets_.begin() + t * output_dim_);
  }
  return batch;
}

}  // namespace mamba2
