// Runs the real mamba2-forecast binary: convert, predict on raw windows (the fixtures' exact
// forecasts, and with --ssd mamba2-jax-0.1 their 0.1.x forecasts), train on a CSV series and then
// predict and eval with the result, stop and resume a training run, and one clear line with exit
// code 1 for every kind of bad CSV or flag.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "mamba2/npy.h"
#include "tests/support/file_bytes.h"
#include "tests/support/run_binary.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

using testing::read_bytes;
using testing::run_binary;
using testing::write_bytes;

const std::string kBin = MAMBA2_FORECAST_BIN;

int64_t count_lines(const std::string& text) {
  return static_cast<int64_t>(std::count(text.begin(), text.end(), '\n'));
}

class ForecastApp : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::scratch_dir();
    std::ostringstream csv;
    csv << "time,value\n";
    for (int i = 0; i < 120; ++i) csv << i << "," << std::sin(0.3 * i) << "\n";
    write_bytes(dir_ / "sine.csv", csv.str());
  }

  // stderr is one line naming the problem; exit code 1, no crash.
  void expect_one_line_error(const std::vector<std::string>& args, const std::string& needle) {
    const auto run = run_binary(kBin, args);
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_EQ(count_lines(run.err), 1) << run.err;
    EXPECT_NE(run.err.find(needle), std::string::npos) << run.err;
  }

  std::string csv(const std::string& name, const std::string& text) {
    write_bytes(dir_ / name, text);
    return (dir_ / name).string();
  }

  const std::string sine_model_ = testing::fixture_dir("fc_sine").string();
  std::filesystem::path dir_;
};

TEST_F(ForecastApp, ConvertedModelPredictsTheFixtureWindows) {
  const std::string gguf = (dir_ / "fc_sine.gguf").string();
  auto run = run_binary(kBin, {"convert", sine_model_, gguf});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto fixture = testing::fixture_dir("fc_sine");
  for (const std::string& model : {sine_model_, gguf}) {
    const std::string out = (dir_ / "y.npy").string();
    run = run_binary(kBin, {"predict", model, "--windows", (fixture / "inputs_L50.npy").string(),
                            "--out", out, "-t", "1"});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const NpyArray got = read_npy(out), expected = read_npy(fixture / "forecast_exact_L50.npy");
    ASSERT_EQ(got.shape, expected.shape);
    for (size_t i = 0; i < got.data.size(); ++i) EXPECT_NEAR(got.data[i], expected.data[i], 5e-5);
  }
}

TEST_F(ForecastApp, CompatibilityModeGivesTheMamba2Jax01Forecasts) {
  for (const auto& [fixture, length] : {std::pair{"fc_sine", "50"}, {"fc_multi", "100"}}) {
    const auto dir = testing::fixture_dir(fixture);
    const std::string out = (dir_ / "y01.npy").string();
    const auto run = run_binary(kBin, {"predict", dir.string(), "--windows",
                                       (dir / (std::string("inputs_L") + length + ".npy")).string(),
                                       "--out", out, "--ssd", "mamba2-jax-0.1", "-t", "2"});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const NpyArray got = read_npy(out);
    const NpyArray expected = read_npy(dir / (std::string("forecast_L") + length + ".npy"));
    ASSERT_EQ(got.shape, expected.shape);
    for (size_t i = 0; i < got.data.size(); ++i) EXPECT_NEAR(got.data[i], expected.data[i], 5e-5);
  }
  expect_one_line_error(
      {"predict", sine_model_, "--csv", (dir_ / "sine.csv").string(), "--ssd", "mamba2-jax-0.1"},
      "works on --windows only");
  expect_one_line_error(
      {"predict", sine_model_, "--windows", "x.npy", "--out", "y.npy", "--ssd", "0.1"},
      "expected exact or mamba2-jax-0.1");
}

TEST_F(ForecastApp, TrainsAModelThatPredictsAndEvaluates) {
  const std::string series = (dir_ / "sine.csv").string();
  const std::string model = (dir_ / "trained.gguf").string();
  auto run = run_binary(
      kBin, {"train", "--csv",     series, "--context", "16", "--horizon",    "4",  "--out",
             model,   "--d-model", "16",   "--layers",  "1",  "--d-state",    "8",  "--headdim",
             "8",     "--steps",   "30",   "--batch",   "8",  "--eval-every", "10", "-t",
             "2"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("finished at step 30"), std::string::npos) << run.out;
  EXPECT_NE(run.err.find("step 30/30"), std::string::npos) << run.err;
  EXPECT_TRUE(std::filesystem::exists(model + ".ckpt"));

  // The model remembers its column: predict needs no --columns.
  run = run_binary(kBin, {"predict", model, "--csv", series});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out.substr(0, run.out.find('\n')), "step,value");
  EXPECT_EQ(count_lines(run.out), 1 + 4);
  EXPECT_EQ(run.out.find("nan"), std::string::npos);
  run = run_binary(kBin, {"eval", model, "--csv", series, "--season", "21"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("mamba2-forecast"), std::string::npos) << run.out;

  // Stopped at step 10 and resumed: the same model as the straight run.
  // Same file name: the GGUF's general.name is its stem.
  std::filesystem::create_directories(dir_ / "resumed");
  const std::string resumed = (dir_ / "resumed" / "trained.gguf").string();
  std::vector<std::string> args = {"train",     series,  "--context",    "16", "--horizon", "4",
                                   "--out",     resumed, "--d-model",    "16", "--layers",  "1",
                                   "--d-state", "8",     "--headdim",    "8",  "--steps",   "30",
                                   "--batch",   "8",     "--eval-every", "10"};
  args.insert(args.begin() + 1, "--csv");
  auto stopped = args;
  stopped.insert(stopped.end(), {"--stop-at", "10"});
  run = run_binary(kBin, stopped);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("stopped at step 10"), std::string::npos) << run.out;
  auto resume = args;
  resume.insert(resume.end(), {"--resume", resumed + ".ckpt", "-t", "1"});
  run = run_binary(kBin, resume);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(read_bytes(resumed), read_bytes(model)) << "a resumed run differs from a straight one";
}

TEST_F(ForecastApp, BadTrainingFlagsGiveOneLine) {
  const std::string series = (dir_ / "sine.csv").string();
  const std::string out = (dir_ / "bad.gguf").string();
  const auto train = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"train", "--csv", series, "--out", out, "--steps", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  expect_one_line_error(train({"--context", "200"}), "fewer than one window");
  expect_one_line_error(train({"--context", "0"}), "--context: must be at least 1");
  expect_one_line_error(train({"--val-frac", "1.5"}), "--val-frac: must be in [0, 1)");
  expect_one_line_error(train({"--context", "16", "--horizon", "20", "--val-frac", "0.1"}),
                        "fewer than --horizon");
  expect_one_line_error(train({"--headdim", "7"}), "--headdim: must divide");
  expect_one_line_error(train({"--columns", "price"}), "has no column 'price'");
  expect_one_line_error(train({"--lr", "-1"}), "--lr: must be a positive number");
  expect_one_line_error(train({"--window-shift", "mean"}), "expected last or none");
  expect_one_line_error({"train", "--csv", csv("text2.csv", "t,value\n1,2\n2,abc\n"), "--out", out},
                        "'abc' is not a finite number");
  expect_one_line_error({"train", "--csv", series, "--out", (dir_ / "no/such/dir.gguf").string()},
                        "does not exist");
  EXPECT_FALSE(std::filesystem::exists(out)) << "a refused run wrote its output";
}

TEST_F(ForecastApp, PredictsAndEvaluatesACsvSeries) {
  const std::string series = (dir_ / "sine.csv").string();
  auto run = run_binary(kBin, {"predict", sine_model_, "--csv", series});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out.substr(0, run.out.find('\n')), "step,value");
  EXPECT_EQ(count_lines(run.out), 1 + 8);

  run = run_binary(kBin, {"predict", sine_model_, "--csv", series, "--rolling", "--out",
                          (dir_ / "rolling.csv").string()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(count_lines(read_bytes(dir_ / "rolling.csv")), 1 + 120 * 8);

  run = run_binary(kBin, {"eval", sine_model_, "--csv", series, "--season", "21"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  for (const char* method : {"mamba2-forecast", "naive", "seasonal naive (21)", "linear"}) {
    EXPECT_NE(run.out.find(method), std::string::npos) << run.out;
  }
}

TEST_F(ForecastApp, BadCsvsGiveOneLine) {
  const auto predict = [&](const std::string& path, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"predict", sine_model_, "--csv", path};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  expect_one_line_error(predict(csv("ragged.csv", "t,value\n1,2\n2,3,4\n")),
                        "line 3 has 3 fields, the header 2");
  expect_one_line_error(predict(csv("text.csv", "t,value\n1,2\n2,abc\n")),
                        "line 3, column 'value': 'abc' is not a finite number");
  expect_one_line_error(predict(csv("inf.csv", "t,value\n1,2\n2,inf\n")), "not a finite number");
  expect_one_line_error(predict(csv("empty.csv", "")), "is empty");
  expect_one_line_error(predict(csv("header.csv", "t,value\n")), "has no data rows");
  expect_one_line_error(predict(csv("quote.csv", "t,\"value\n1,2\n")), "unterminated quote");
  expect_one_line_error(predict((dir_ / "sine.csv").string(), {"--columns", "price"}),
                        "has no column 'price'");
  expect_one_line_error(predict((dir_ / "missing.csv").string()), "no such file");
  const std::string gaps = csv("gaps.csv", "t,value\n1,1\n2,\n3,NA\n4,4\n");
  expect_one_line_error(predict(gaps), "line 3, column 'value': missing value (--fill linear");
  const auto filled = run_binary(kBin, predict(gaps, {"--fill", "linear"}));
  EXPECT_EQ(filled.exit_code, 0) << filled.err;
  EXPECT_EQ(filled.out.find("nan"), std::string::npos);
  expect_one_line_error(predict(csv("allgaps.csv", "t,value\n1,\n2,\n")), "missing value");
  expect_one_line_error(predict(csv("allgaps2.csv", "t,value\n1,\n2,\n"), {"--fill", "linear"}),
                        "column 'value' has no values");
  // The real file with 59 empty cells: refused, or filled on request.
  const std::string weekly = (testing::data_dir() / "timeseries/co2_weekly.csv").string();
  expect_one_line_error(predict(weekly), "line 8, column 'co2': missing value");
  EXPECT_EQ(run_binary(kBin, predict(weekly, {"--fill", "linear"})).exit_code, 0);
}

TEST_F(ForecastApp, PlotsWithGnuplotOrSaysItIsMissing) {
  const std::string svg = (dir_ / "forecast.svg").string();
  const auto run = run_binary(
      kBin, {"predict", sine_model_, "--csv", (dir_ / "sine.csv").string(), "--plot", svg});
  if (run.exit_code == 0) {
    EXPECT_NE(read_bytes(svg).find("<svg"), std::string::npos);
  } else {
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_NE(run.err.find("needs gnuplot"), std::string::npos) << run.err;
  }
}

}  // namespace
}  // namespace mamba2
