// The fixtures' forecasters (README "Forecaster fixtures"): every weight source — the mamba2-jax
// directory as safetensors and as .npz, with a leading "params.", with the 1.x NNX paths, and our
// GGUF after conversion — and every scan give forecast_exact_* within 5e-5. A stream fed one
// observation at a time ends where the whole window does.
#include <gtest/gtest.h>

#include <cmath>
#include <regex>

#include "mamba2/forecaster.h"
#include "mamba2/npy.h"
#include "tests/runtime/formats/raw_safetensors.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

constexpr float kTolerance = 5e-5f;

struct Case {
  const char* fixture;
  int64_t length;
};
const Case kCases[] = {
    {"fc_sine", 5}, {"fc_sine", 32}, {"fc_sine", 50}, {"fc_multi", 64}, {"fc_multi", 100}};

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    worst = std::max(worst, std::abs(a[i] - b[i]));
  }
  return worst;
}

// A mamba2-jax directory whose params.safetensors has every name rewritten by `rename`.
std::filesystem::path renamed_copy(const char* fixture, const std::string& tag,
                                   const std::function<std::string(const std::string&)>& rename) {
  const auto source = testing::fixture_dir(fixture);
  const auto dir = testing::scratch_dir() / (std::string(fixture) + "_" + tag);
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(source / "config.json", dir / "config.json");
  auto raw = testing::RawSafetensors::read(source / "params.safetensors");
  nlohmann::json header = nlohmann::json::object();
  for (const auto& [name, entry] : raw.header.items()) header[rename(name)] = entry;
  raw.header = header;
  raw.write(dir / "params.safetensors");
  return dir;
}

std::filesystem::path weights_dir(const char* fixture, const std::string& source) {
  const auto dir = testing::fixture_dir(fixture);
  if (source == "safetensors") return dir;
  if (source == "npz") {
    const auto copy = testing::scratch_dir() / (std::string(fixture) + "_npz");
    std::filesystem::create_directories(copy);
    std::filesystem::copy_file(dir / "config.json", copy / "config.json");
    std::filesystem::copy_file(dir / "params.npz", copy / "params.npz");
    return copy;
  }
  if (source == "params_prefix") {
    return renamed_copy(fixture, source, [](const std::string& n) { return "params." + n; });
  }
  // 1.x NNX paths: layers.0, conv1d.conv, final_norm, and an embedder the forecaster never uses.
  return renamed_copy(fixture, source, [](const std::string& n) {
    std::string out = std::regex_replace(n, std::regex(R"(layers_(\d+))"), "layers.$1");
    out = std::regex_replace(out, std::regex("conv1d\\.Conv_0"), "conv1d.conv");
    return std::regex_replace(out, std::regex("norm_f"), "final_norm");
  });
}

class ForecasterFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(ForecasterFixture, MatchesExactForecastsForEveryScan) {
  for (const char* fixture : {"fc_sine", "fc_multi"}) {
    ForecasterWeights weights = load_forecaster_weights(weights_dir(fixture, GetParam()));
    if (GetParam() == "safetensors") {  // and once more through our GGUF form
      const auto gguf = testing::scratch_dir() / (std::string(fixture) + ".gguf");
      write_forecaster_gguf(weights, gguf);
      weights = load_forecaster_weights(gguf);
    }
    const auto forecaster = std::make_shared<const Forecaster>(std::move(weights));
    for (const Case& c : kCases) {
      if (std::string(c.fixture) != fixture) continue;
      const auto dir = testing::fixture_dir(fixture);
      const auto suffix = "_L" + std::to_string(c.length) + ".npy";
      const NpyArray inputs = read_npy(dir / ("inputs" + suffix));
      const NpyArray expected = read_npy(dir / ("forecast_exact" + suffix));
      for (ScanMode scan : {ScanMode::kChunked, ScanMode::kAssociative, ScanMode::kRecurrent}) {
        SessionOptions options;
        options.scan = scan;
        const auto got = forecast_windows(forecaster, inputs.data, c.length, options);
        EXPECT_LE(max_abs_diff(got, expected.data), kTolerance)
            << fixture << " L" << c.length << " " << scan_mode_name(scan);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Sources, ForecasterFixture,
                         ::testing::Values("safetensors", "npz", "params_prefix", "nnx"));

TEST(ForecastStream, ObservationByObservationEqualsTheWholeWindow) {
  const auto forecaster =
      std::make_shared<const Forecaster>(load_forecaster_weights(testing::fixture_dir("fc_multi")));
  const NpyArray inputs = read_npy(testing::fixture_dir("fc_multi") / "inputs_L100.npy");
  const NpyArray expected = read_npy(testing::fixture_dir("fc_multi") / "forecast_exact_L100.npy");
  const int64_t step = forecaster->shape().input_dim, outputs = forecaster->shape().outputs();
  ForecastStream stream(forecaster);
  for (int64_t t = 0; t < 100; ++t) {
    stream.observe(std::span(inputs.data).subspan(t * step, step));
  }
  const std::vector<float> first(expected.data.begin(), expected.data.begin() + outputs);
  EXPECT_LE(max_abs_diff(stream.forecast(), first), kTolerance);
  EXPECT_EQ(stream.observed(), 100);
}

}  // namespace
}  // namespace mamba2
