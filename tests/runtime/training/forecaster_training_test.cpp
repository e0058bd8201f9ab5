// The forecaster objective of the training model: every parameter gradient of the exact forward
// against central finite differences (double), the whole-window forward against the fixtures'
// forecast_exact_* (exact scan) and forecast_* (mamba2-jax 0.1.x's scan), series windows, and a
// short training run on a real series that must lower the held-out error.
#include "mamba2/forecaster_training.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>

#include "mamba2/data_windows.h"
#include "mamba2/error.h"
#include "mamba2/forecaster.h"
#include "mamba2/npy.h"
#include "mamba2/series_csv.h"
#include "runtime/training/parameters.h"
#include "runtime/training/training_model.h"
#include "tests/runtime/training/gradient_check.h"
#include "tests/support/test_paths.h"

namespace mamba2::training {
namespace {

ForecasterShape tiny_head() { return {.input_dim = 2, .output_dim = 2, .horizon = 3}; }

TEST(ForecasterTraining, EveryParameterGradientMatchesFiniteDifferences) {
  // d_model 8, headdim 4: 4 heads; chunk 4 over 7 steps leaves a ragged last chunk.
  const ModelConfig config = forecaster_backbone_config(8, 2, 4, 4, 4, 4);
  const ParameterLayout layout(config, tiny_head());
  // Random values everywhere (init leaves biases at zero and norms at one, which would hide
  // slips), A_log and dt_bias kept in their usual ranges.
  std::vector<double> params = testing::random_values(size_t(layout.total()), 5, 0.4);
  for (int64_t l = 0; l < config.n_layer; ++l) {
    for (auto [slot, base] :
         {std::pair{ParameterLayout::kALog, 0.5}, {ParameterLayout::kDtBias, -2.0}}) {
      const ParameterSlot& s = layout.layer_slot(l, slot);
      for (int64_t i = 0; i < s.size; ++i) params[s.offset + i] = base + 0.3 * params[s.offset + i];
    }
  }
  const int64_t batch = 2, seq_len = 7;
  const ForecasterShape head = tiny_head();
  std::vector<double> windows = testing::random_values(size_t(batch * seq_len * head.input_dim), 6);
  std::vector<double> targets = testing::random_values(size_t(batch * head.outputs()), 7);
  TrainingModel<double> model(layout, batch, seq_len);
  ThreadingContext threading(2);
  auto loss = [&] {
    double value = 0;
    threading.execute([&] {
      value = model.forward(params.data(), ForecastBatch<double>{windows, targets}, threading);
    });
    return value;
  };
  std::vector<double> grads(params.size());
  loss();
  threading.execute([&] { model.backward(params.data(), grads.data(), threading); });
  for (const ParameterSlot& slot : layout.slots()) {
    testing::expect_gradient(slot.name, params, grads, loss, 1e-6, size_t(slot.offset),
                             size_t(slot.offset + slot.size));
  }
}

struct Case {
  const char* fixture;
  int64_t length;
};
const Case kCases[] = {
    {"fc_sine", 5}, {"fc_sine", 32}, {"fc_sine", 50}, {"fc_multi", 64}, {"fc_multi", 100}};

class FixtureForward : public ::testing::TestWithParam<Case> {};

// Both scans of the whole window against the fixtures, to the README's 5e-5.
TEST_P(FixtureForward, MatchesBothScans) {
  const Case c = GetParam();
  const auto dir = mamba2::testing::fixture_dir(c.fixture);
  const ForecasterWeights weights = load_forecaster_weights(dir);
  const std::string L = std::to_string(c.length);
  const NpyArray inputs = read_npy(dir / ("inputs_L" + L + ".npy"));
  ThreadingContext threading(2);
  for (const auto& [ssd, file] : {std::pair{SsdVariant::kExact, "forecast_exact_L"},
                                  std::pair{SsdVariant::kMamba2Jax01, "forecast_L"}}) {
    const NpyArray expected = read_npy(dir / (file + L + ".npy"));
    // Two windows per pass: the batch dimension is exercised too.
    const std::vector<float> got =
        forecast_windows_whole(weights, inputs.data, c.length, ssd, threading, 2);
    ASSERT_EQ(got.size(), expected.data.size()) << file;
    float worst = 0;
    for (size_t i = 0; i < got.size(); ++i)
      worst = std::max(worst, std::abs(got[i] - expected.data[i]));
    EXPECT_LE(worst, 5e-5f) << c.fixture << " " << file << L;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FixtureForward, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& param) {
                           return std::string(param.param.fixture) + "_L" +
                                  std::to_string(param.param.length);
                         });

// The 0.1.x scan has no backward: asking for one is an Error, not wrong gradients.
TEST(ForecasterTraining, RefusesTheBackwardOfTheMamba2Jax01Scan) {
  const ModelConfig config = forecaster_backbone_config(8, 1, 4, 4, 4, 4);
  const ParameterLayout layout(config, tiny_head());
  const std::vector<float> params = init_parameters(layout, 1);
  std::vector<float> grads(params.size());
  TrainingModel<float> model(layout, 1, 5, SsdVariant::kMamba2Jax01);
  const std::vector<float> windows(10, 0.5f), targets(6, 0.0f);
  ThreadingContext threading(1);
  threading.execute([&] {
    model.forward(params.data(), ForecastBatch<float>{windows, targets}, threading);
    EXPECT_THROW(model.backward(params.data(), grads.data(), threading), Error);
  });
}

TEST(SeriesWindows, WindowsAndTargetsFollowTheOrigins) {
  // input column r, target column 100 + r: every value names its row.
  std::vector<float> inputs, targets;
  for (int r = 0; r < 20; ++r) {
    inputs.push_back(float(r));
    targets.push_back(100.0f + float(r));
  }
  const SeriesWindows windows(inputs, 1, targets, 1, 4, 3, 9);
  const SeriesWindows::Batch at = windows.at({4, 17});
  EXPECT_EQ(at.windows, (std::vector<float>{0, 1, 2, 3, 13, 14, 15, 16}));
  EXPECT_EQ(at.targets, (std::vector<float>{104, 105, 106, 117, 118, 119}));
  EXPECT_THROW(windows.at({18}), Error);
  for (int64_t step = 0; step < 50; ++step) {
    const SeriesWindows::Batch b = windows.random(step, 4, 12);
    for (int64_t row = 0; row < 4; ++row) {
      const float first_target = b.targets[row * 3];
      EXPECT_EQ(b.windows[row * 4 + 3], first_target - 101.0f);  // contiguous
      EXPECT_LE(first_target - 100.0f + 3, 12.0f) << "targets past the end row";
    }
    EXPECT_EQ(b.windows, windows.random(step, 4, 12).windows) << "the same step draws again";
  }
  EXPECT_THROW(SeriesWindows(inputs, 1, targets, 1, 15, 6, 1), Error);
}

// co2_monthly, z-scored on its first 90 %: a small forecaster trained for a few seconds must
// forecast the held-out windows with less than half the error it started with.
TEST(ForecasterTrainer, TrainingLowersTheHeldOutErrorOnARealSeries) {
  const SeriesTable table =
      read_series_csv(mamba2::testing::data_dir() / "timeseries" / "co2_monthly.csv", {"value"},
                      MissingCells::kRefuse);
  const int64_t rows = table.rows, train_rows = rows * 9 / 10, context = 24, horizon = 6;
  double mean = 0, squares = 0;
  for (int64_t r = 0; r < train_rows; ++r) mean += table.values[r];
  mean /= double(train_rows);
  for (int64_t r = 0; r < train_rows; ++r) squares += std::pow(table.values[r] - mean, 2);
  const double scale = std::sqrt(squares / double(train_rows));
  std::vector<float> z(table.values.size());
  for (size_t i = 0; i < z.size(); ++i) z[i] = float((table.values[i] - mean) / scale);
  const SeriesWindows windows(z, 1, z, 1, context, horizon, 3);
  std::vector<int64_t> origins;
  for (int64_t t = train_rows; t + horizon <= rows; ++t) origins.push_back(t);
  const SeriesWindows::Batch val = windows.at(origins);

  ForecasterTrainerOptions options;
  options.optimizer.lr = 1e-2;
  options.optimizer.warmup_steps = 10;
  options.optimizer.total_steps = 80;
  options.batch = 16;
  options.context = context;
  options.threading = ThreadingContext(2);
  ForecasterTrainer trainer(forecaster_backbone_config(16, 1, 8, 8, 4, 16), {1, 1, horizon}, 4,
                            options, "test");
  auto held_out_mse = [&] {
    const std::vector<float> f = forecast_windows_whole(
        trainer.weights("co2"), val.windows, context, SsdVariant::kExact, options.threading, 64);
    double sum = 0;
    for (size_t i = 0; i < f.size(); ++i) sum += std::pow(double(f[i]) - val.targets[i], 2);
    return sum / double(f.size());
  };
  const double before = held_out_mse();
  for (int64_t step = 0; step < 80; ++step) {
    const SeriesWindows::Batch b = windows.random(step, 16, train_rows);
    ASSERT_TRUE(std::isfinite(trainer.step(b.windows, b.targets).loss));
  }
  const double after = held_out_mse();
  EXPECT_LT(after, 0.5 * before) << "held-out MSE " << before << " -> " << after;
}

// A trained model through our GGUF: the head, scalings, columns, context and window shift come
// back, and the forecasts are the same.
TEST(ForecasterTrainer, TrainedModelRoundTripsThroughGguf) {
  ForecasterTrainerOptions options;
  options.batch = 2;
  options.context = 6;
  ForecasterTrainer trainer(forecaster_backbone_config(8, 1, 4, 4, 4, 4), {2, 1, 3}, 5, options,
                            "test");
  ForecasterWeights weights = trainer.weights("roundtrip");
  weights.input_scaling = {{1.0f, 2.0f}, {0.5f, 3.0f}};
  weights.output_scaling = {{4.0f}, {2.0f}};
  weights.input_columns = {"a", "b"};
  weights.output_columns = {"b"};
  weights.context = 6;
  weights.relative = true;
  const auto path = mamba2::testing::scratch_dir() / "trained_forecaster.gguf";
  write_forecaster_gguf(weights, path);
  const ForecasterWeights back = load_forecaster_weights(path);
  EXPECT_EQ(back.context, 6);
  EXPECT_TRUE(back.relative);
  EXPECT_EQ(back.input_columns, weights.input_columns);
  EXPECT_EQ(back.output_columns, weights.output_columns);
  EXPECT_EQ(back.input_scaling.scale, weights.input_scaling.scale);
  EXPECT_EQ(back.output_scaling.mean, weights.output_scaling.mean);
  const std::vector<float> window = {0.1f, -0.2f, 0.3f, 0.4f, -0.5f, 0.6f,
                                     0.7f, -0.8f, 0.9f, 1.0f, -1.1f, 1.2f};
  const ThreadingContext threading(1);
  EXPECT_EQ(forecast_windows_whole(weights, window, 6, SsdVariant::kExact, threading),
            forecast_windows_whole(back, window, 6, SsdVariant::kExact, threading));
}

// A run stopped and resumed from its checkpoint ends where an uninterrupted one does.
TEST(ForecasterTrainer, ResumesBitExactly) {
  const ModelConfig config = forecaster_backbone_config(8, 1, 4, 4, 4, 4);
  std::vector<float> series(64);
  for (size_t i = 0; i < series.size(); ++i) series[i] = std::sin(0.3f * float(i));
  const SeriesWindows windows(series, 1, series, 1, 8, 3, 2);
  ForecasterTrainerOptions options;
  options.batch = 4;
  options.context = 8;
  options.threading = ThreadingContext(2);
  auto run = [&](ForecasterTrainer& t, int64_t from, int64_t to) {
    for (int64_t step = from; step < to; ++step) {
      const SeriesWindows::Batch b = windows.random(step, 4, 64);
      t.step(b.windows, b.targets);
    }
  };
  ForecasterTrainer straight(config, {1, 1, 3}, 7, options, "test");
  run(straight, 0, 6);
  ForecasterTrainer first(config, {1, 1, 3}, 7, options, "test");
  run(first, 0, 3);
  const auto path = mamba2::testing::scratch_dir() / "forecaster_resume.ckpt";
  first.save_checkpoint(path, 7);
  ForecasterTrainer second(config, {1, 1, 3}, 99, options, "test");
  second.resume(path, 7);
  EXPECT_EQ(second.steps_done(), 3);
  run(second, 3, 6);
  const ForecasterWeights a = straight.weights("a"), b = second.weights("b");
  for (const auto member : {&ForecasterWeights::input_proj, &ForecasterWeights::output_proj}) {
    const auto x = (a.*member).f32(), y = (b.*member).f32();
    ASSERT_EQ(x.size(), y.size());
    for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(x[i], y[i]) << i;
  }
  EXPECT_THROW(second.resume(path, 8), Error);  // another seed
}

}  // namespace
}  // namespace mamba2::training
