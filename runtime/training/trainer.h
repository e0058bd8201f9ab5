// One optimisation step at a time: forward, backward and AdamW over a batch, in a TBB arena of a
// fixed size. Results do not depend on the thread count.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "mamba2/threading_context.h"
#include "runtime/training/optimizer.h"
#include "runtime/training/parameters.h"
#include "runtime/training/training_model.h"

namespace mamba2::training {

class Trainer {
 public:
  Trainer(const ParameterLayout& layout, std::vector<float> params, AdamWSettings settings,
          int64_t batch, int64_t seq_len, ThreadingContext threading);

  // tokens [batch, seq_len + 1].
  TrainingStep step(std::span<const int32_t> tokens);

  std::vector<float>& params() { return params_; }
  AdamW& optimizer() { return optimizer_; }

 private:
  const ParameterLayout& layout_;
  std::vector<float> params_, grads_;
  AdamW optimizer_;
  TrainingModel<float> model_;
  ThreadingContext threading_;
};

}  // namespace mamba2::training
