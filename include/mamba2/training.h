// Training a Mamba-2 language model on token sequences, from Mamba2's initialisation or from an
// f32 model: forward, backward and AdamW in a threading context, checkpoints that resume
// bit-exactly, and the trained weights as a ModelWeights to write or run. Results do not depend
// on the thread count.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "mamba2/config.h"
#include "mamba2/model_weights.h"
#include "mamba2/threading_context.h"
#include "mamba2/tokenizer_data.h"

namespace mamba2 {

// AdamW with decoupled weight decay on the matrices only, global-norm gradient clipping, and a
// learning rate that warms up linearly and then follows a cosine down to min_lr_ratio * lr at
// total_steps.
struct AdamWSettings {
  double lr = 3e-3;
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 0.1;
  double clip = 1.0;  // <= 0: no clipping
  int64_t warmup_steps = 100;
  int64_t total_steps = 1000;
  double min_lr_ratio = 0.1;
};

struct TrainingStep {
  double loss = 0;  // before the update: mean cross-entropy in nats per token (a language model),
                    // mean squared error in model units (a forecaster)
  double grad_norm = 0;  // before clipping
  double lr = 0;
};

struct TrainerOptions {
  AdamWSettings optimizer;
  int64_t batch = 16;     // sequences per step
  int64_t seq_len = 256;  // tokens per sequence (each step reads seq_len + 1 per sequence)
  ThreadingContext threading;
};

class LanguageModelTrainer {
 public:
  // Fresh weights for `config`, initialised as Mamba2 initialises them from `seed`. Throws Error
  // naming `where` for a config the trainer does not support.
  LanguageModelTrainer(const ModelConfig& config, uint64_t seed, TrainerOptions options,
                       const std::string& where);
  // Continues from f32 `weights`.
  LanguageModelTrainer(const ModelWeights& weights, TrainerOptions options,
                       const std::string& where);
  ~LanguageModelTrainer();
  LanguageModelTrainer(const LanguageModelTrainer&) = delete;
  LanguageModelTrainer& operator=(const LanguageModelTrainer&) = delete;

  // One optimizer step on tokens [batch, seq_len + 1].
  TrainingStep step(std::span<const int32_t> tokens);
  int64_t steps_done() const;

  // Parameters, Adam moments, the step and the data seed, written atomically.
  void save_checkpoint(const std::filesystem::path& path, uint64_t seed) const;
  // Continues from a checkpoint of this model's layout. Throws Error naming the path for another
  // layout, a damaged file or a checkpoint made with another seed.
  void resume(const std::filesystem::path& path, uint64_t seed);

  // f32 weights holding copies of the current parameters.
  ModelWeights weights(const std::string& name, std::optional<TokenizerData> tokenizer) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mamba2
