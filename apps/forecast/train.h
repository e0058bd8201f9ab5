// mamba2-forecast train: a forecaster trained on windows of a CSV series (the last --val-frac of
// the rows held out for validation), with mamba2-train's discipline: a progress line, checkpoints
// every few minutes and on Ctrl-C, --resume, and the model written atomically at the end.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "common/trainer_flags.h"

namespace mamba2::apps {

struct TrainOptions {
  std::string csv, out, fill = "none", window_shift = "last";
  std::vector<std::string> columns, target;
  int64_t context = 96, horizon = 12;
  int64_t d_model = 64, layers = 2, d_state = 32, headdim = 16, d_conv = 4, chunk = 64;
  double val_frac = 0.1;
  TrainerFlags train{.batch = 32, .warmup = 50, .eval_every = 100};
};

void add_train_options(CLI::App& command, TrainOptions& options);
int train(const TrainOptions& options);

}  // namespace mamba2::apps
