// Training a Mamba-2 forecaster (mamba2-jax's Mamba2Forecaster) on windows of a series with mean
// squared error: the language-model trainer's forward, backward, AdamW and checkpoints with the
// forecaster's head in place of the token embedding and lm_head. Also the whole-window forward of
// that training model, which is how the mamba2-jax 0.1.x scan (not causal, so not streamable) is
// computed. Results do not depend on the thread count.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "mamba2/forecaster.h"
#include "mamba2/threading_context.h"
#include "mamba2/training.h"

namespace mamba2 {

// Which SSD a whole-window forward computes: the exact Mamba-2 scan (what the engine, mamba2-jax
// 1.x and state-spaces compute), or mamba2-jax 0.1.x's chunked SSD with its two indexing slips,
// whose output depends on later steps of the window and on chunk_size (fixtures README).
enum class SsdVariant { kExact, kMamba2Jax01 };

struct ForecasterTrainerOptions {
  AdamWSettings optimizer;
  int64_t batch = 32;    // windows per step
  int64_t context = 96;  // steps per window
  ThreadingContext threading;
};

class ForecasterTrainer {
 public:
  // Fresh weights for a forecaster of `backbone` (forecaster_backbone_config) and `shape`,
  // initialised from `seed`. Throws Error naming `where` for a config the trainer does not support.
  ForecasterTrainer(const ModelConfig& backbone, const ForecasterShape& shape, uint64_t seed,
                    ForecasterTrainerOptions options, const std::string& where);
  ~ForecasterTrainer();
  ForecasterTrainer(const ForecasterTrainer&) = delete;
  ForecasterTrainer& operator=(const ForecasterTrainer&) = delete;

  // One optimizer step on windows [batch, context, input_dim] and the values after them
  // [batch, horizon, output_dim], in model units. loss is their mean squared error.
  TrainingStep step(std::span<const float> windows, std::span<const float> targets);
  int64_t steps_done() const;

  // As LanguageModelTrainer's: parameters, moments, step and data seed, written atomically.
  void save_checkpoint(const std::filesystem::path& path, uint64_t seed) const;
  void resume(const std::filesystem::path& path, uint64_t seed);

  // f32 weights holding copies of the current parameters (no scalings or column names).
  ForecasterWeights weights(const std::string& name) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The forecaster on windows [batch, length, input_dim] (model units), each window whole from a
// zero state: [batch, horizon, output_dim]. With kExact this equals forecast_windows; with
// kMamba2Jax01 it is what mamba2-jax 0.1.x computes. Runs `per_pass` windows at a time.
std::vector<float> forecast_windows_whole(const ForecasterWeights& weights,
                                          std::span<const float> windows, int64_t length,
                                          SsdVariant ssd, const ThreadingContext& threading,
                                          int64_t per_pass = 16);

}  // namespace mamba2
