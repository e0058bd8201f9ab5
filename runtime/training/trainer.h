// One optimisation step at a time: forward, backward and AdamW over a batch, in a TBB arena of a
// fixed size. Results do not depend on the thread count.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "runtime/engine/parallel.h"
#include "runtime/training/optimizer.h"
#include "runtime/training/parameters.h"
#include "runtime/training/training_model.h"

namespace mamba2::training {

struct StepResult {
  double loss = 0;       // mean cross-entropy in nats per token, before the update
  double grad_norm = 0;  // before clipping
  double lr = 0;
};

class Trainer {
 public:
  Trainer(const ParameterLayout& layout, std::vector<float> params, AdamWSettings settings,
          int64_t batch, int64_t seq_len, int threads);

  // tokens [batch, seq_len + 1].
  StepResult step(std::span<const int32_t> tokens);

  std::vector<float>& params() { return params_; }
  AdamW& optimizer() { return optimizer_; }
  Parallel& parallel() { return parallel_; }

 private:
  const ParameterLayout& layout_;
  std::vector<float> params_, grads_;
  AdamW optimizer_;
  TrainingModel<float> model_;
  Parallel parallel_;
};

}  // namespace mamba2::training
