// Runs the real mamba2-eval binary on a fixture and compares its files with the reference.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "mamba2/kl_divergence.h"
#include "mamba2/model_loader.h"
#include "mamba2/npy.h"
#include "mamba2/perplexity.h"
#include "mamba2/random_model.h"
#include "mamba2/session.h"
#include "mamba2/tokenizer.h"
#include "runtime/gguf/gguf_model.h"
#include "tests/apps/neox_text_model.h"
#include "tests/support/run_binary.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

std::string join_ids(const std::vector<int32_t>& ids, const char* separator) {
  std::string text;
  for (size_t i = 0; i < ids.size(); ++i) text += (i ? separator : "") + std::to_string(ids[i]);
  return text;
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float worst = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

// A Mamba-2 and a Mamba-1 fixture: the states come out in each reference's layout.
TEST(EvalApp, WritesLogitsStatesAndGreedyTokensOfTheReference) {
  for (const char* name : {"small_groups", "m1_small"}) {
    SCOPED_TRACE(name);
    const auto fixture = testing::fixture_dir(name);
    std::ifstream prompts_file(fixture / "prompt_ids.json"), greedy_file(fixture / "greedy.json");
    const auto prompts = nlohmann::json::parse(prompts_file);
    const auto greedy = nlohmann::json::parse(greedy_file);
    const size_t p = 4;
    const auto ids = prompts[p].get<std::vector<int32_t>>();
    const auto out = testing::scratch_dir();
    for (const char* scan : {"chunked", "associative", "recurrent"}) {
      SCOPED_TRACE(scan);
      const testing::BinaryRun run =
          testing::run_binary(MAMBA2_EVAL_BIN, {fixture.string(), "--ids", join_ids(ids, ","),
                                                "--logits-out", (out / "logits.npy").string(),
                                                "--states-out", (out / "states").string(),
                                                "--generate", "32", "--scan", scan, "-t", "2"});
      ASSERT_EQ(run.exit_code, 0) << run.err;
      EXPECT_EQ(run.out, join_ids(greedy["tokens"][p].get<std::vector<int32_t>>(), " ") + "\n");
      const std::string index = std::to_string(p);
      EXPECT_LE(max_abs_diff(read_npy(out / "logits.npy").data,
                             read_npy(fixture / ("logits_p" + index + ".npy")).data),
                1e-3f);
      EXPECT_LE(max_abs_diff(read_npy(out / "states" / "ssm_state.npy").data,
                             read_npy(fixture / ("final_ssm_state_p" + index + ".npy")).data),
                1e-3f);
      EXPECT_LE(max_abs_diff(read_npy(out / "states" / "conv_state.npy").data,
                             read_npy(fixture / ("final_conv_state_p" + index + ".npy")).data),
                1e-3f);
    }
  }
}

TEST(EvalApp, BadInputGivesOneLineAndExitCodeOne) {
  const auto fixture = testing::fixture_dir("tiny").string();
  const std::vector<std::vector<std::string>> cases = {
      {"/nonexistent/model", "--ids", "1,2"},
      {fixture, "--ids", "1,x"},
      {fixture, "--ids", "1,999999"},
      {fixture, "--ids", "1", "--scan", "sideways"},
      {fixture, "--bogus-flag"},
      {fixture},
      {fixture, "--perplexity", "/dev/null"},
  };
  for (const auto& args : cases) {
    SCOPED_TRACE(args.back());
    const testing::BinaryRun run = testing::run_binary(MAMBA2_EVAL_BIN, args);
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_TRUE(run.out.empty());
    ASSERT_FALSE(run.err.empty());
    EXPECT_EQ(run.err.find('\n'), run.err.size() - 1) << run.err;
    EXPECT_EQ(run.err.rfind("mamba2-eval: error: ", 0), 0u) << run.err;
  }
}

TEST(EvalApp, PerplexityOfATextFileWithTheModelsTokenizer) {
  const auto dir = testing::scratch_dir();
  testing::write_neox_text_model(dir / "model.gguf", 5);
  const std::string text =
      "Once upon a time, there was a little robot who liked to count: 1, 2, 3.";
  std::ofstream(dir / "text.txt", std::ios::binary) << text;

  const testing::BinaryRun run = testing::run_binary(
      MAMBA2_EVAL_BIN,
      {(dir / "model.gguf").string(), "--perplexity", (dir / "text.txt").string()});
  ASSERT_EQ(run.exit_code, 0) << run.err;

  const auto model = load_model(dir / "model.gguf");
  const Tokenizer tokenizer(*model->weights().tokenizer);
  const auto tokens = tokenizer.encode(text);
  Session session(model);
  const PerplexityResult expected = measure_perplexity(
      session, tokens, static_cast<int64_t>(tokenizer.decode(std::span(tokens).subspan(1)).size()));
  char line[128];
  std::snprintf(line, sizeof line, "perplexity: %.4f bits_per_byte: %.4f\n", expected.perplexity,
                expected.bits_per_byte);
  EXPECT_EQ(run.out, line);
  // A random model is close to uniform over the padded vocabulary.
  EXPECT_GT(expected.perplexity, 1000.0);
}

// llama-perplexity --kl-divergence's report: a llama-quantize Q4_0 file against its f32 source on
// token ids (the model has no tokenizer), the numbers measure_kl_divergence gives.
TEST(EvalApp, KlDivergenceOfAQuantizedModelAgainstItsBase) {
  const auto dir = testing::fixture_dir("llamacpp_quants");
  std::ifstream in(dir / "prompt_ids.json");
  const auto prompt = nlohmann::json::parse(in).get<std::vector<std::vector<int32_t>>>()[2];
  const testing::BinaryRun run = testing::run_binary(
      MAMBA2_EVAL_BIN, {(dir / "mamba2-qtest-Q4_0.gguf").string(), "--kl-divergence-base",
                        (dir / "mamba2-qtest-F32.gguf").string(), "--ids", join_ids(prompt, ",")});
  ASSERT_EQ(run.exit_code, 0) << run.err;

  Session session(load_model(dir / "mamba2-qtest-Q4_0.gguf"));
  Session base(load_model(dir / "mamba2-qtest-F32.gguf"));
  const KlDivergenceResult r = measure_kl_divergence(session, base, prompt);
  char expected[512];
  std::snprintf(expected, sizeof expected,
                "positions: %lld\nperplexity: %.4f base: %.4f ln(ratio): %.6f\n"
                "kl_divergence: mean %.6f +/- %.6f max %.6f\ntop1_agreement: %.4f%%\n",
                static_cast<long long>(r.positions), r.perplexity, r.base_perplexity,
                std::log(r.perplexity / r.base_perplexity), r.mean_kl, r.kl_standard_error,
                r.max_kl, 100.0 * r.top1_agreement);
  EXPECT_EQ(run.out, expected);

  // A base of another vocabulary: one line, exit 1.
  const testing::BinaryRun bad = testing::run_binary(
      MAMBA2_EVAL_BIN,
      {(dir / "mamba2-qtest-Q4_0.gguf").string(), "--kl-divergence-base",
       (testing::fixture_dir("llamacpp_mamba1") / "m1_tiny-F32.gguf").string(), "--ids", "1,2,3"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("logits per token"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace mamba2
