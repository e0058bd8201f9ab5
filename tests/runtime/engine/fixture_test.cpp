// The engine against the official reference outputs in shared/fixtures, for every file format the
// fixtures come in (safetensors, torch .bin, a GGUF written here, and for m1_tiny llama.cpp's own
// mamba GGUF) and every scan path, Mamba-2 (tiny, small_groups) and Mamba-1 (m1_tiny, m1_small).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "mamba2/model_loader.h"
#include "mamba2/npy.h"
#include "mamba2/session.h"
#include "runtime/gguf/gguf_model.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

// Tolerances from shared/fixtures/README.md.
constexpr float kLogitTolerance = 1e-3f;
constexpr float kStateTolerance = 1e-3f;

nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

void expect_all_near(std::span<const float> actual, const std::vector<float>& expected,
                     float tolerance, const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  float worst = 0;
  size_t worst_at = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    const float diff = std::fabs(actual[i] - expected[i]);
    if (!(diff <= worst)) {
      worst = diff;
      worst_at = i;
    }
  }
  EXPECT_LE(worst, tolerance) << what << ": worst at " << worst_at;
}

enum class Source { kSafetensors, kTorchBin, kGguf, kLlamaCppGguf };

std::string source_name(Source source) {
  switch (source) {
    case Source::kSafetensors:
      return "safetensors";
    case Source::kTorchBin:
      return "torch_bin";
    case Source::kGguf:
      return "gguf";
    case Source::kLlamaCppGguf:
      return "llamacpp_gguf";
  }
  return "";
}

// The fixture's model from one of its formats.
std::shared_ptr<const Model> load_fixture(const std::string& fixture, Source source) {
  const auto dir = testing::fixture_dir(fixture.c_str());
  if (source == Source::kSafetensors) return load_model(dir);
  if (source == Source::kTorchBin) {
    const auto copy = testing::scratch_dir();
    std::filesystem::copy_file(dir / "config.json", copy / "config.json");
    std::filesystem::copy_file(dir / "pytorch_model.bin", copy / "pytorch_model.bin");
    return load_model(copy);
  }
  if (source == Source::kLlamaCppGguf) {
    return load_model(testing::fixture_dir("llamacpp_mamba1") / (fixture + "-F32.gguf"));
  }
  const auto gguf = testing::scratch_dir() / "model.gguf";
  write_gguf_model(load_model_weights(dir), gguf, GgufWriteOptions{});
  return load_model(gguf);
}

struct FixtureCase {
  std::string fixture;
  Source source;
  ScanMode scan;
};

class FixtureTest : public ::testing::TestWithParam<FixtureCase> {};

TEST_P(FixtureTest, LogitsStatesAndGreedyTokensMatchTheReference) {
  const FixtureCase& param = GetParam();
  const auto dir = testing::fixture_dir(param.fixture.c_str());
  const auto model = load_fixture(param.fixture, param.source);
  const ModelConfig& config = model->config();
  const nlohmann::json prompts = read_json(dir / "prompt_ids.json");
  const nlohmann::json greedy = read_json(dir / "greedy.json");
  SessionOptions options;
  options.scan = param.scan;
  options.threading = ThreadingContext(2);

  for (size_t p = 0; p < prompts.size(); ++p) {
    SCOPED_TRACE("prompt " + std::to_string(p));
    const auto tokens = prompts[p].get<std::vector<int32_t>>();
    const std::string index = std::to_string(p);
    Session session(model, options);
    std::vector<float> logits;
    std::span<const float> last = session.prefill(tokens, [&](int64_t, std::span<const float> row) {
      logits.insert(logits.end(), row.begin(), row.end());
    });
    expect_all_near(logits, read_npy(dir / ("logits_p" + index + ".npy")).data, kLogitTolerance,
                    "logits");
    expect_all_near(session.state().ssm,
                    read_npy(dir / ("final_ssm_state_p" + index + ".npy")).data, kStateTolerance,
                    "ssm state");
    expect_all_near(conv_state_channels_first(config, session.state()),
                    read_npy(dir / ("final_conv_state_p" + index + ".npy")).data, kStateTolerance,
                    "conv state");

    const auto expected_tokens = greedy["tokens"][p].get<std::vector<int32_t>>();
    const std::vector<float> greedy_logits =
        read_npy(dir / ("greedy_logits_p" + index + ".npy")).data;
    const auto vocab = static_cast<size_t>(config.vocab_padded);
    std::vector<int32_t> generated;
    for (size_t k = 0; k < expected_tokens.size(); ++k) {
      expect_all_near(last,
                      std::vector<float>(greedy_logits.begin() + k * vocab,
                                         greedy_logits.begin() + (k + 1) * vocab),
                      kLogitTolerance, "greedy logits row " + std::to_string(k));
      generated.push_back(
          static_cast<int32_t>(std::max_element(last.begin(), last.end()) - last.begin()));
      if (k + 1 < expected_tokens.size()) last = session.decode(generated.back());
    }
    EXPECT_EQ(generated, expected_tokens);
  }
}

std::vector<FixtureCase> all_cases() {
  std::vector<FixtureCase> cases;
  for (const char* fixture : {"tiny", "small_groups", "m1_tiny", "m1_small"}) {
    for (Source source :
         {Source::kSafetensors, Source::kTorchBin, Source::kGguf, Source::kLlamaCppGguf}) {
      if (source == Source::kLlamaCppGguf && std::string(fixture) != "m1_tiny") continue;
      for (ScanMode scan : {ScanMode::kChunked, ScanMode::kAssociative, ScanMode::kRecurrent}) {
        cases.push_back({fixture, source, scan});
      }
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(AllFormatsAndScans, FixtureTest, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<FixtureCase>& test) {
                           return test.param.fixture + "_" + source_name(test.param.source) + "_" +
                                  std::string(scan_mode_name(test.param.scan));
                         });

// Per-layer hidden states of the tiny model's traced prompt, against the reference's trace/.
TEST(FixtureTrace, HiddenStatesMatchTheReferenceTrace) {
  const auto dir = testing::fixture_dir("tiny");
  const auto model = load_model(dir);
  const ModelConfig& config = model->config();
  const nlohmann::json prompts = read_json(dir / "prompt_ids.json");
  const auto prompt_index = read_json(dir / "meta.json")["trace"]["prompt_index"].get<size_t>();
  const auto tokens = prompts[prompt_index].get<std::vector<int32_t>>();
  std::vector<std::vector<float>> hidden(static_cast<size_t>(config.n_layer + 1),
                                         std::vector<float>(tokens.size() * config.d_model));
  SessionOptions options;
  options.threading = ThreadingContext(2);
  Session session(model, options);
  session.prefill(tokens, {}, [&](int64_t layer, int64_t position, std::span<const float> row) {
    std::copy(row.begin(), row.end(), hidden[layer].begin() + position * config.d_model);
  });
  for (int64_t layer = 0; layer < config.n_layer; ++layer) {
    const auto file = "layer" + std::to_string(layer) + "_residual_in.npy";
    expect_all_near(hidden[layer], read_npy(dir / "trace" / file).data, kStateTolerance, file);
  }
  expect_all_near(hidden[config.n_layer], read_npy(dir / "trace" / "norm_f_out.npy").data,
                  kStateTolerance, "norm_f_out");
}

}  // namespace
}  // namespace mamba2
