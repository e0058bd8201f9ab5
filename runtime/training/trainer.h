// One optimisation step at a time: forward, backward and AdamW over a batch, in a TBB arena of a
// fixed size. Results do not depend on the thread count.
#pragma once

#include <cstdint>
#include <filesystem>
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

  // A language model's step on tokens [batch, seq_len + 1], or a forecaster's on windows.
  TrainingStep step(std::span<const int32_t> tokens);
  TrainingStep step(const ForecastBatch<float>& batch);

  // Parameters, Adam moments, the step and the data seed, written atomically; resume() reads them
  // back and refuses a checkpoint of another layout or seed (Error naming the path).
  void save_checkpoint(const std::filesystem::path& path, uint64_t seed) const;
  void resume(const std::filesystem::path& path, uint64_t seed);

  std::vector<float>& params() { return params_; }
  const std::vector<float>& params() const { return params_; }
  AdamW& optimizer() { return optimizer_; }

 private:
  template <class Batch>
  TrainingStep run_step(const Batch& batch);

  const ParameterLayout& layout_;
  std::vector<float> params_, grads_;
  AdamW optimizer_;
  TrainingModel<float> model_;
  ThreadingContext threading_;
};

}  // namespace mamba2::training
