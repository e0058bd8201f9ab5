#include "common/trainer_flags.h"

#include <cmath>

#include "mamba2/error.h"

namespace mamba2::apps {

void add_trainer_flags(CLI::App& app, TrainerFlags& f, const TrainerFlagWords& words) {
  app.add_option("--steps", f.steps, "optimizer steps in total")->capture_default_str();
  app.add_option("--batch", f.batch, words.batch)->capture_default_str();
  app.add_option("--lr", f.lr, "peak learning rate")->capture_default_str();
  app.add_option("--warmup", f.warmup, "linear warm-up steps")->capture_default_str();
  app.add_option("--weight-decay", f.weight_decay, "AdamW decay of the matrices")
      ->capture_default_str();
  app.add_option("--clip", f.clip, "global gradient-norm clip (0: none)")->capture_default_str();
  app.add_option("--eval-every", f.eval_every, "steps between validation runs")
      ->capture_default_str();
  app.add_option("--seed", f.seed, words.seed)->capture_default_str();
  app.add_option("-t,--threads", f.threads, "threads (0: all cores)")->capture_default_str();
  app.add_option("--resume", f.resume, "checkpoint to continue from (same flags as its run)");
  app.add_option("--checkpoint", f.checkpoint, "checkpoint path (default: OUT.ckpt)");
  app.add_option("--checkpoint-every-minutes", f.checkpoint_minutes, "checkpoint interval")
      ->capture_default_str();
  app.add_option("--stop-at", f.stop_at,
                 "stop at this step as Ctrl-C would (checkpoint + output), to train in sessions");
}

void check_trainer_flags(const TrainerFlags& f) {
  const auto positive = [](int64_t value, const char* flag) {
    if (value < 1) throw Error(flag, "must be at least 1");
  };
  positive(f.steps, "--steps");
  positive(f.batch, "--batch");
  positive(f.eval_every, "--eval-every");
  if (f.warmup < 0) throw Error("--warmup", "must not be negative");
  if (!(f.lr > 0) || !std::isfinite(f.lr)) throw Error("--lr", "must be a positive number");
  if (!(f.weight_decay >= 0)) throw Error("--weight-decay", "must not be negative");
  if (!(f.checkpoint_minutes > 0)) throw Error("--checkpoint-every-minutes", "must be positive");
}

AdamWSettings adamw_settings(const TrainerFlags& f) {
  AdamWSettings settings;
  settings.lr = f.lr;
  settings.weight_decay = f.weight_decay;
  settings.clip = f.clip;
  settings.warmup_steps = f.warmup;
  settings.total_steps = f.steps;
  return settings;
}

std::string checkpoint_path(const TrainerFlags& f, const std::string& out) {
  return f.checkpoint.empty() ? out + ".ckpt" : f.checkpoint;
}

}  // namespace mamba2::apps
