// The flags both trainers take (mamba2-train, mamba2-forecast train): the AdamW schedule, the
// batch, validation, seed and threads, and the checkpoint discipline. Each tool keeps its own
// defaults and says what its batch and seed cover.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "mamba2/training.h"

namespace mamba2::apps {

struct TrainerFlags {
  int64_t steps = 1000, batch = 16, warmup = 100, eval_every = 200, stop_at = 0;
  double lr = 3e-3, weight_decay = 0.1, clip = 1.0, checkpoint_minutes = 5.0;
  uint64_t seed = 1;
  int threads = 0;
  std::string resume, checkpoint;
};

// What a tool's --batch and --seed cover, for their help lines.
struct TrainerFlagWords {
  const char* batch;  // "sequences per step"
  const char* seed;   // "initialisation and data-order seed"
};

void add_trainer_flags(CLI::App& app, TrainerFlags& flags, const TrainerFlagWords& words);
// Throws Error naming the first flag out of its range.
void check_trainer_flags(const TrainerFlags& flags);
// The optimizer the flags describe.
AdamWSettings adamw_settings(const TrainerFlags& flags);
// --checkpoint, or the output path + ".ckpt".
std::string checkpoint_path(const TrainerFlags& flags, const std::string& out);

}  // namespace mamba2::apps
