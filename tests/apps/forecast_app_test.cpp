// Runs the real mamba2-forecast binary: convert, predict on raw windows (the fixtures' exact
// forecasts), predict and eval on a CSV series, and one clear line with exit code 1 for every
// kind of bad CSV.
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
