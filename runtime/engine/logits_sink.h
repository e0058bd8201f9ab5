// Where the final blocks of a prefill hand their logits: every position to a callback, or only
// the last position of the prompt into the session's logits row.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "mamba2/session.h"
#include "runtime/engine/layer_stages.h"

namespace mamba2 {

class LogitsSink {
 public:
  // Rows computed at once when every position is wanted: bounds the scratch to a few rows.
  static constexpr int64_t kRowsPerPass = 16;

  LogitsSink(const LogitsCallback* callback, int64_t last_position, std::vector<float>& last,
             std::vector<float>& scratch)
      : callback_(callback), last_position_(last_position), last_(last), scratch_(scratch) {}

  // Called for the blocks of a prompt in position order, after LayerStages::final_norm.
  void consume(const LayerStages& stages, ActivationBlock& block) {
    const auto vocab = static_cast<int64_t>(last_.size());
    if (callback_ && *callback_) {
      // Grown on first use: most sessions never ask for every position's logits.
      scratch_.resize(static_cast<size_t>(kRowsPerPass * vocab));
      for (int64_t begin = 0; begin < block.tokens; begin += kRowsPerPass) {
        const int64_t end = std::min(block.tokens, begin + kRowsPerPass);
        stages.logits(block, begin, end, scratch_.data());
        for (int64_t row = begin; row < end; ++row) {
          std::span<const float> logits(&scratch_[(row - begin) * vocab], vocab);
          (*callback_)(block.position + row, logits);
          if (block.position + row == last_position_) {
            std::copy(logits.begin(), logits.end(), last_.begin());
          }
        }
      }
      return;
    }
    const int64_t row = last_position_ - block.position;
    if (row >= 0 && row < block.tokens) stages.logits(block, row, row + 1, last_.data());
  }

 private:
  const LogitsCallback* callback_;
  int64_t last_position_;
  std::vector<float>& last_;
  std::vector<float>& scratch_;
};

}  // namespace mamba2
