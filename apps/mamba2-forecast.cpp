// mamba2-forecast: time-series forecasting with a Mamba-2 forecaster (mamba2-jax's
// Mamba2Forecaster, or one trained here). train fits one to a CSV series, predict forecasts the
// next values of a CSV series (or of raw .npy windows), eval scores the model on a held-out tail
// beside simple baselines, convert writes a mamba2-jax directory as our GGUF.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "common/cli.h"
#include "forecast/evaluation.h"
#include "forecast/plot.h"
#include "forecast/series.h"
#include "forecast/train.h"
#include "mamba2/error.h"
#include "mamba2/forecaster.h"
#include "mamba2/forecaster_training.h"
#include "mamba2/npy.h"
#include "mamba2/series_csv.h"

namespace {

using namespace mamba2;
using namespace mamba2::apps;

struct CommonOptions {
  std::string model, csv;
  std::vector<std::string> columns, target;
  std::string fill = "none";
  int threads = 0;
};

struct PredictOptions {
  std::string windows, out, plot, ssd = "exact";
  bool rolling = false;
};

struct EvalOptions {
  double tail = 0.1;
  int64_t season = 1, context = 96;
};

std::shared_ptr<const Forecaster> load(const CommonOptions& o) {
  return std::make_shared<const Forecaster>(load_forecaster_weights(o.model),
                                            ThreadingContext(o.threads));
}

Series read_csv_series(const CommonOptions& o, const Forecaster& forecaster) {
  if (o.csv.empty()) throw Error("--csv", "is required");
  return read_series(forecaster.head(), o.csv, o.columns, o.target, parse_fill(o.fill));
}

// Forecasts in the targets' units from origins in increasing order (rows before the origin
// known). A model trained here with a context reads the last `context` rows from a zero state, as
// in training; any other streams the whole history once.
class OriginForecasts {
 public:
  OriginForecasts(std::shared_ptr<const Forecaster> forecaster, const Series& series, int threads)
      : forecaster_(std::move(forecaster)),
        series_(series),
        stream_(forecaster_, SessionOptions{.threading = ThreadingContext(threads)}) {}

  std::vector<float> at(int64_t origin) {
    const ForecasterWeights& head = forecaster_->head();
    const int64_t input_dim = head.shape.input_dim, output_dim = head.shape.output_dim;
    int64_t from = stream_.observed();
    if (head.context > 0) {
      stream_.reset();
      from = std::max<int64_t>(0, origin - head.context);
    }
    std::vector<float> rows(series_.inputs.begin() + from * input_dim,
                            series_.inputs.begin() + origin * input_dim);
    std::vector<float> last;  // the last known targets, model units (a relative model)
    if (head.relative) {
      last.assign(series_.targets.begin() + (origin - 1) * output_dim,
                  series_.targets.begin() + origin * output_dim);
      to_model_units(head.output_scaling, last);
      shift_windows(rows, origin - from, input_dim, {}, {}, output_dim);
    }
    stream_.observe(rows);
    std::vector<float> forecast = stream_.forecast();
    for (size_t i = 0; i < last.size(); ++i) {
      for (size_t h = i; h < forecast.size(); h += last.size()) forecast[h] += last[i];
    }
    from_model_units(head.output_scaling, forecast);
    return forecast;
  }

 private:
  std::shared_ptr<const Forecaster> forecaster_;
  const Series& series_;
  ForecastStream stream_;
};

SsdVariant parse_ssd(const std::string& ssd) {
  if (ssd == "exact") return SsdVariant::kExact;
  if (ssd == "mamba2-jax-0.1") return SsdVariant::kMamba2Jax01;
  throw Error("--ssd", "expected exact or mamba2-jax-0.1, not '" + ssd + "'");
}

std::string csv_line(const std::vector<std::string>& fields) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) line += (i ? "," : "") + fields[i];
  return line + "\n";
}

std::string number(float value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.7g", value);
  return text;
}

void write_text(const std::string& path, const std::string& text) {
  if (path.empty()) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return;
  }
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) throw Error(path, "cannot write");
  const bool ok = std::fwrite(text.data(), 1, text.size(), file) == text.size();
  if (std::fclose(file) != 0 || !ok) throw Error(path, "cannot write");
}

int predict_windows(const CommonOptions& o, const PredictOptions& p) {
  if (p.out.empty()) throw Error("--out", "is required with --windows (the forecasts' .npy)");
  check_output_path(p.out, "--out");
  const SsdVariant ssd = parse_ssd(p.ssd);
  ForecasterWeights weights = load_forecaster_weights(o.model);
  const ForecasterShape shape = weights.shape;
  const NpyArray windows = read_npy(p.windows);
  if (windows.shape.size() != 3 || windows.shape[2] != shape.input_dim || windows.shape[1] < 1) {
    throw Error(p.windows,
                "expected windows [batch, length, " + std::to_string(shape.input_dim) + "]");
  }
  const ThreadingContext threading(o.threads);
  // mamba2-jax 0.1.x's scan reads the whole window at once (it is not causal): the training
  // model's forward computes it. The exact scan streams through the engine.
  const std::vector<float> forecasts =
      ssd == SsdVariant::kMamba2Jax01
          ? forecast_windows_whole(weights, windows.data, windows.shape[1], ssd, threading)
          : forecast_windows(std::make_shared<const Forecaster>(std::move(weights), threading),
                             windows.data, windows.shape[1],
                             SessionOptions{.threading = threading});
  const int64_t out_shape[] = {windows.shape[0], shape.horizon, shape.output_dim};
  write_npy(p.out, out_shape, forecasts);
  return 0;
}

int predict(const CommonOptions& o, const PredictOptions& p) {
  if (!p.windows.empty()) return predict_windows(o, p);
  if (parse_ssd(p.ssd) != SsdVariant::kExact) {
    throw Error("--ssd",
                "mamba2-jax-0.1 works on --windows only: its scan is not causal, so it "
                "cannot run along a series");
  }
  if (!p.out.empty()) check_output_path(p.out, "--out");
  if (!p.plot.empty()) check_output_path(p.plot, "--plot");
  const auto forecaster = load(o);
  const Series s = read_csv_series(o, *forecaster);
  const ForecasterShape& shape = forecaster->shape();
  OriginForecasts forecasts(forecaster, s, o.threads);
  std::vector<std::string> header = {"step"};
  header.insert(header.end(), s.target_columns.begin(), s.target_columns.end());
  std::string text;
  std::vector<float> forecast;
  if (p.rolling) {
    // After every row: the forecast from there, steps numbered from the row after it.
    header.insert(header.begin(), "origin");
    text = csv_line(header);
    for (int64_t row = 0; row < s.rows; ++row) {
      forecast = forecasts.at(row + 1);
      for (int64_t h = 0; h < shape.horizon; ++h) {
        std::vector<std::string> fields = {std::to_string(row + 1), std::to_string(h + 1)};
        for (int64_t c = 0; c < shape.output_dim; ++c) {
          fields.push_back(number(forecast[h * shape.output_dim + c]));
        }
        text += csv_line(fields);
      }
    }
  } else {
    forecast = forecasts.at(s.rows);
    text = csv_line(header);
    for (int64_t h = 0; h < shape.horizon; ++h) {
      std::vector<std::string> fields = {std::to_string(h + 1)};
      for (int64_t c = 0; c < shape.output_dim; ++c) {
        fields.push_back(number(forecast[h * shape.output_dim + c]));
      }
      text += csv_line(fields);
    }
  }
  write_text(p.out, text);
  if (!p.plot.empty()) {
    const int64_t shown = std::min<int64_t>(s.rows, 8 * shape.horizon);
    const auto history = std::span(s.targets).subspan((s.rows - shown) * shape.output_dim);
    plot_forecast({s.target_columns, history, forecast, {}}, p.plot);
  }
  return 0;
}

int evaluate(const CommonOptions& o, const EvalOptions& e) {
  if (!(e.tail > 0 && e.tail < 1)) throw Error("--tail", "must be between 0 and 1");
  if (e.season < 1) throw Error("--season", "must be at least 1");
  if (e.context < 2) throw Error("--context", "must be at least 2");
  const auto forecaster = load(o);
  const Series s = read_csv_series(o, *forecaster);
  const ForecasterShape& shape = forecaster->shape();
  const int64_t rows = s.rows;
  const auto tail = std::max<int64_t>(shape.horizon, static_cast<int64_t>(double(rows) * e.tail));
  const TailProblem problem{s.targets,     rows,     shape.output_dim, rows - tail,
                            shape.horizon, e.season, e.context};

  // The model reads the series once (everything before the tail, then row by row), or the last
  // `context` rows before each origin for a model trained with one.
  OriginForecasts forecasts(forecaster, s, o.threads);
  const Forecast model = [&](int64_t origin) { return forecasts.at(origin); };
  std::vector<Scores> table = {score(problem, "mamba2-forecast", model)};
  table.push_back(score(problem, "naive (last value)",
                        [&](int64_t origin) { return naive_forecast(problem, origin); }));
  table.push_back(score(problem, "seasonal naive (" + std::to_string(e.season) + ")",
                        [&](int64_t origin) { return seasonal_naive_forecast(problem, origin); }));
  table.push_back(score(problem, "linear (" + std::to_string(e.context) + " rows)",
                        [&](int64_t origin) { return linear_forecast(problem, origin); }));
  std::printf("%s: %lld rows, the last %lld held out, horizon %lld, %lld forecast origins\n",
              o.csv.c_str(), static_cast<long long>(rows), static_cast<long long>(tail),
              static_cast<long long>(shape.horizon),
              static_cast<long long>(tail - shape.horizon + 1));
  std::printf("%s", format_scores(table).c_str());
  return 0;
}

int convert(const std::string& dir, const std::string& out) {
  check_output_path(out, "OUT");
  const ForecasterWeights weights = load_forecaster_weights(dir);
  write_forecaster_gguf(weights, out);
  std::printf(
      "wrote %s: input_dim %lld, horizon %lld x output_dim %lld, d_model %lld, %lld layers\n",
      out.c_str(), static_cast<long long>(weights.shape.input_dim),
      static_cast<long long>(weights.shape.horizon),
      static_cast<long long>(weights.shape.output_dim),
      static_cast<long long>(weights.backbone.config.d_model),
      static_cast<long long>(weights.backbone.config.n_layer));
  return 0;
}

void add_common(CLI::App& command, CommonOptions& o) {
  command.add_option("model", o.model, "our GGUF or a mamba2-jax directory")->required();
  command.add_option("--csv", o.csv, "the series: a CSV file with a header line");
  command
      .add_option("--columns", o.columns,
                  "input columns (default: the model's, or all after "
                  "the first)")
      ->delimiter(',');
  command.add_option("--target", o.target, "forecast columns (default: the model's or the inputs)")
      ->delimiter(',');
  command.add_option("--fill", o.fill, "missing cells: none (an error) or linear")
      ->capture_default_str();
  command.add_option("-t,--threads", o.threads, "threads (0: all cores)")->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Forecast time series with a Mamba-2 forecaster"};
  app.name("mamba2-forecast");
  app.require_subcommand(1);
  CommonOptions common;
  PredictOptions p;
  EvalOptions e;
  std::string convert_dir, convert_out;

  TrainOptions t;
  CLI::App* train_cmd = app.add_subcommand("train", "train a forecaster on a CSV series");
  add_train_options(*train_cmd, t);

  CLI::App* predict_cmd = app.add_subcommand("predict", "forecast the values after a series");
  add_common(*predict_cmd, common);
  predict_cmd->add_option("--windows", p.windows, "raw windows [batch, length, input_dim] .npy");
  predict_cmd->add_option("--out", p.out, "forecast CSV (default: stdout), or .npy with --windows");
  predict_cmd->add_option("--plot", p.plot, "draw history and forecast with gnuplot (.svg, .png)");
  predict_cmd->add_flag("--rolling", p.rolling, "a forecast after every row");
  predict_cmd
      ->add_option("--ssd", p.ssd,
                   "scan: exact, or mamba2-jax-0.1 (its 0.1.x release's non-causal chunked "
                   "forward, --windows only)")
      ->capture_default_str();

  CLI::App* eval_cmd = app.add_subcommand("eval", "score the model on the held-out tail");
  add_common(*eval_cmd, common);
  eval_cmd->add_option("--tail", e.tail, "fraction of rows held out")->capture_default_str();
  eval_cmd->add_option("--season", e.season, "season length for seasonal naive and MASE")
      ->capture_default_str();
  eval_cmd->add_option("--context", e.context, "rows the linear baseline fits")
      ->capture_default_str();

  CLI::App* convert_cmd = app.add_subcommand("convert", "write a mamba2-jax directory as GGUF");
  convert_cmd->add_option("dir", convert_dir, "mamba2-jax directory")->required();
  convert_cmd->add_option("out", convert_out, "output GGUF")->required();

  return run_app(app, argc, argv, [&] {
    if (*train_cmd) return train(t);
    if (*predict_cmd) return predict(common, p);
    if (*eval_cmd) return evaluate(common, e);
    return convert(convert_dir, convert_out);
  });
}
