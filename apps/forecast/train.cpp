#include "forecast/train.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "chat/interrupt.h"
#include "common/cli.h"
#include "forecast/series.h"
#include "mamba2/data_windows.h"
#include "mamba2/error.h"
#include "mamba2/forecaster_training.h"

namespace mamba2::apps {
namespace {

using Clock = std::chrono::steady_clock;

// Validation windows at most: an evenly spaced subset of the held-out origins beyond it.
constexpr int64_t kMaxValidationWindows = 512;

void check_options(const TrainOptions& o) {
  auto positive = [](int64_t value, const char* flag) {
    if (value < 1) throw Error(flag, "must be at least 1");
  };
  if (o.csv.empty()) throw Error("--csv", "is required");
  positive(o.context, "--context");
  positive(o.horizon, "--horizon");
  positive(o.d_model, "--d-model");
  positive(o.layers, "--layers");
  positive(o.d_state, "--d-state");
  positive(o.headdim, "--headdim");
  positive(o.chunk, "--chunk-size");
  check_trainer_flags(o.train);
  if (!(o.val_frac >= 0 && o.val_frac < 1)) throw Error("--val-frac", "must be in [0, 1)");
  if ((2 * o.d_model) % o.headdim != 0) {
    throw Error("--headdim", "must divide 2 * --d-model = " + std::to_string(2 * o.d_model));
  }
  if (o.window_shift != "last" && o.window_shift != "none") {
    throw Error("--window-shift", "expected last or none, not '" + o.window_shift + "'");
  }
  if (o.out.empty()) throw Error("--out", "is required");
  check_output_path(o.out, "--out");
}

std::string figure(double value) {
  if (std::isnan(value)) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.4f", value);
  return text;
}

// The held-out origins: every one from the first validation row on, thinned evenly to at most
// kMaxValidationWindows.
std::vector<int64_t> validation_origins(int64_t first, int64_t last) {
  std::vector<int64_t> origins;
  const int64_t count = last - first + 1;
  if (count < 1) return origins;
  const int64_t shown = std::min(count, kMaxValidationWindows);
  for (int64_t i = 0; i < shown; ++i) origins.push_back(first + i * count / shown);
  return origins;
}

// The mean squared error (model units) of the written model's forecasts, through the inference
// engine: what predict and eval will compute from the file.
double validation_mse(const ForecasterWeights& weights, const SeriesWindows::Batch& val,
                      int64_t context, const ThreadingContext& threading) {
  auto forecaster = std::make_shared<const Forecaster>(weights, threading);
  const std::vector<float> forecasts =
      forecast_windows(forecaster, val.windows, context, SessionOptions{.threading = threading});
  double sum = 0;
  for (size_t i = 0; i < forecasts.size(); ++i) {
    const double error = double(forecasts[i]) - val.targets[i];
    sum += error * error;
  }
  return sum / double(forecasts.size());
}

}  // namespace

void add_train_options(CLI::App& command, TrainOptions& o) {
  command.add_option("--csv", o.csv, "the series: a CSV file with a header line")->required();
  command.add_option("--columns", o.columns, "input columns (default: all after the first)")
      ->delimiter(',');
  command.add_option("--target", o.target, "forecast columns (default: the inputs)")
      ->delimiter(',');
  command.add_option("--fill", o.fill, "missing cells: none (an error) or linear")
      ->capture_default_str();
  command.add_option("--context", o.context, "rows per input window")->capture_default_str();
  command
      .add_option("--window-shift", o.window_shift,
                  "last: each window relative to its last row, forecasts as changes from the "
                  "last known values; none: z-scores alone")
      ->capture_default_str();
  command.add_option("--horizon", o.horizon, "rows forecast after each window")
      ->capture_default_str();
  command.add_option("--out", o.out, "the trained model (our GGUF)")->required();
  command.add_option("--d-model", o.d_model, "model width")->capture_default_str();
  command.add_option("--layers", o.layers, "Mamba-2 layers")->capture_default_str();
  command.add_option("--d-state", o.d_state, "SSM state size")->capture_default_str();
  command.add_option("--headdim", o.headdim, "channels per head")->capture_default_str();
  command.add_option("--chunk-size", o.chunk, "SSD chunk (speed only)")->capture_default_str();
  command.add_option("--val-frac", o.val_frac, "fraction of rows held out at the end")
      ->capture_default_str();
  add_trainer_flags(command, o.train,
                    {.batch = "windows per step", .seed = "initialisation and window-order seed"});
}

int train(const TrainOptions& o) {
  check_options(o);
  check_output_path(checkpoint_path(o.train, o.out), "--checkpoint");
  Series s = read_training_series(o.csv, o.columns, o.target, parse_fill(o.fill));
  const auto input_dim = static_cast<int64_t>(s.input_columns.size());
  const auto output_dim = static_cast<int64_t>(s.target_columns.size());
  // The split: training windows lie wholly before the held-out tail; validation windows forecast
  // into it (their context may reach back into the training rows).
  const int64_t held_out = static_cast<int64_t>(std::llround(double(s.rows) * o.val_frac));
  const int64_t train_rows = s.rows - held_out;
  if (train_rows < o.context + o.horizon) {
    throw Error(o.csv, "has " + std::to_string(train_rows) +
                           " training rows (after --val-frac), fewer than one window of "
                           "--context + --horizon = " +
                           std::to_string(o.context + o.horizon));
  }
  if (held_out > 0 && held_out < o.horizon) {
    throw Error("--val-frac", "holds out " + std::to_string(held_out) +
                                  " rows, fewer than --horizon; raise it or set it to 0");
  }

  // Per-column z-scores fitted on the training rows only, stored in the model.
  ForecasterWeights head_info;
  head_info.input_scaling = fit_scaling(s.inputs, input_dim, train_rows);
  head_info.output_scaling = fit_scaling(s.targets, output_dim, train_rows);
  to_model_units(head_info.input_scaling, s.inputs);
  to_model_units(head_info.output_scaling, s.targets);
  const SeriesWindows windows(s.inputs, input_dim, s.targets, output_dim, o.context, o.horizon,
                              o.train.seed);
  const bool relative = o.window_shift == "last";
  // The batch as the model sees it.
  const auto shifted = [&](SeriesWindows::Batch batch) {
    if (relative) {
      shift_windows(batch.windows, o.context, input_dim, batch.targets, batch.last, output_dim);
    }
    return batch;
  };
  const SeriesWindows::Batch val =
      shifted(windows.at(validation_origins(train_rows, held_out > 0 ? s.rows - o.horizon : -1)));

  ForecasterTrainerOptions options;
  options.optimizer = adamw_settings(o.train);
  options.batch = o.train.batch;
  options.context = o.context;
  options.threading = ThreadingContext(o.train.threads);
  const ThreadingContext threading = options.threading;
  const ModelConfig backbone =
      forecaster_backbone_config(o.d_model, o.layers, o.d_state, o.headdim, o.d_conv, o.chunk);
  ForecasterTrainer trainer(backbone, {input_dim, output_dim, o.horizon}, o.train.seed,
                            std::move(options), "mamba2-forecast train");
  const std::string checkpoint = checkpoint_path(o.train, o.out);
  if (!o.train.resume.empty()) trainer.resume(o.train.resume, o.train.seed);

  const std::string name = std::filesystem::path(o.out).stem().string();
  // The model as written: trained weights plus what the tool needs to read the series again.
  auto model = [&] {
    ForecasterWeights weights = trainer.weights(name);
    weights.input_scaling = head_info.input_scaling;
    weights.output_scaling = head_info.output_scaling;
    weights.input_columns = s.input_columns;
    weights.output_columns = s.target_columns;
    weights.context = o.context;
    weights.relative = relative;
    return weights;
  };
  std::fprintf(stderr,
               "%s: %lld rows (%lld for training, %lld held out), %lld -> %lld columns, "
               "%lld validation windows\n",
               o.csv.c_str(), static_cast<long long>(s.rows), static_cast<long long>(train_rows),
               static_cast<long long>(held_out), static_cast<long long>(input_dim),
               static_cast<long long>(output_dim),
               static_cast<long long>(val.targets.size() / size_t(o.horizon * output_dim)));

  chat::install_interrupt_handler();
  const int64_t first_step = trainer.steps_done();
  const auto started = Clock::now();
  auto last_checkpoint = started;
  double loss = NAN, val_mse = NAN;
  bool interrupted = false;
  try {
    for (int64_t step = first_step; step < o.train.steps; ++step) {
      if (chat::interrupt_requested() || (o.train.stop_at > 0 && step >= o.train.stop_at)) {
        interrupted = true;
        break;
      }
      const SeriesWindows::Batch batch = shifted(windows.random(step, o.train.batch, train_rows));
      loss = trainer.step(batch.windows, batch.targets).loss;
      if (!std::isfinite(loss)) {
        throw Error("step " + std::to_string(step + 1),
                    "the loss is not finite (training diverged; try a lower --lr)");
      }
      const bool last = step + 1 == o.train.steps;
      if (!val.targets.empty() && ((step + 1) % o.train.eval_every == 0 || last)) {
        val_mse = validation_mse(model(), val, o.context, threading);
      }
      const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
      const double done = double(step + 1 - first_step);
      std::fprintf(stderr, "\rstep %lld/%lld  loss %.4f  val %s  %.0f windows/s  %.0f s left   ",
                   static_cast<long long>(step + 1), static_cast<long long>(o.train.steps), loss,
                   figure(val_mse).c_str(), done * double(o.train.batch) / elapsed,
                   elapsed / done * double(o.train.steps - step - 1));
      if (Clock::now() - last_checkpoint >=
          std::chrono::duration<double>(o.train.checkpoint_minutes * 60.0)) {
        trainer.save_checkpoint(checkpoint, o.train.seed);
        last_checkpoint = Clock::now();
      }
    }
  } catch (...) {
    std::fprintf(stderr, "\n");
    throw;
  }
  std::fprintf(stderr, "\n");
  trainer.save_checkpoint(checkpoint, o.train.seed);
  write_forecaster_gguf(model(), o.out);
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  std::printf(
      "%s at step %lld: loss %s, val %s (MSE in standardised units), %.1f s this run; wrote %s "
      "and %s\n",
      interrupted ? "stopped" : "finished", static_cast<long long>(trainer.steps_done()),
      figure(loss).c_str(), figure(val_mse).c_str(), seconds, o.out.c_str(), checkpoint.c_str());
  return 0;
}

}  // namespace mamba2::apps
