// measure_kl_divergence on llama-quantize's files (shared/fixtures/llamacpp_quants): the numbers
// computed over the logits each model gives on its own, by the plain formulas; zero divergence of
// a model from itself; and, as a sanity check, the divergence llama.cpp's logits of the same two
// files give.
#include "mamba2/kl_divergence.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "mamba2/error.h"
#include "mamba2/model_loader.h"
#include "mamba2/npy.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

std::filesystem::path qtest(const char* type) {
  return testing::fixture_dir("llamacpp_quants") / ("mamba2-qtest-" + std::string(type) + ".gguf");
}

std::vector<std::vector<int32_t>> prompts() {
  std::ifstream in(testing::fixture_dir("llamacpp_quants") / "prompt_ids.json");
  return nlohmann::json::parse(in).get<std::vector<std::vector<int32_t>>>();
}

// Prompts 3 and 2 end to end: 264 tokens, more than one round of measure_kl_divergence.
std::vector<int32_t> long_prompt() {
  const auto p = prompts();
  std::vector<int32_t> tokens = p[3];
  tokens.insert(tokens.end(), p[2].begin(), p[2].end());
  return tokens;
}

// KL(p || q), -log q[target] and argmaxes over rows of logits [positions, vocab], plainly.
struct Plain {
  double mean_kl = 0, max_kl = 0, nll = 0, base_nll = 0, agree = 0;
};

Plain plain_divergence(const std::vector<float>& base, const std::vector<float>& model,
                       const std::vector<int32_t>& tokens, int64_t vocab) {
  Plain r;
  const auto positions = static_cast<int64_t>(tokens.size()) - 1;
  auto log_probs = [vocab](const float* row) {
    double z = 0;
    for (int64_t v = 0; v < vocab; ++v) z += std::exp(double(row[v]));
    std::vector<double> lp(static_cast<size_t>(vocab));
    for (int64_t v = 0; v < vocab; ++v) lp[v] = double(row[v]) - std::log(z);
    return lp;
  };
  for (int64_t t = 0; t < positions; ++t) {
    const auto p = log_probs(base.data() + t * vocab);
    const auto q = log_probs(model.data() + t * vocab);
    double kl = 0;
    for (int64_t v = 0; v < vocab; ++v) kl += std::exp(p[v]) * (p[v] - q[v]);
    r.mean_kl += kl / double(positions);
    r.max_kl = std::max(r.max_kl, kl);
    r.nll -= q[tokens[t + 1]] / double(positions);
    r.base_nll -= p[tokens[t + 1]] / double(positions);
    const auto top_p = std::max_element(p.begin(), p.end()) - p.begin();
    const auto top_q = std::max_element(q.begin(), q.end()) - q.begin();
    r.agree += top_p == top_q ? 1.0 / double(positions) : 0.0;
  }
  return r;
}

std::vector<float> all_logits(const std::shared_ptr<const Model>& model,
                              const std::vector<int32_t>& tokens) {
  Session session(model);
  std::vector<float> logits;
  session.prefill(tokens, [&](int64_t, std::span<const float> row) {
    logits.insert(logits.end(), row.begin(), row.end());
  });
  return logits;
}

TEST(KlDivergence, Q4_0AgainstF32IsWhatTheirLogitsGive) {
  const auto base = load_model(qtest("F32"));
  const auto model = load_model(qtest("Q4_0"));
  const std::vector<int32_t> tokens = long_prompt();
  Session session(model), base_session(base);
  int64_t last_progress = 0;
  const KlDivergenceResult r = measure_kl_divergence(session, base_session, tokens,
                                                     [&](int64_t done) { last_progress = done; });
  EXPECT_EQ(last_progress, static_cast<int64_t>(tokens.size()));
  EXPECT_EQ(session.state().position, static_cast<int64_t>(tokens.size()));

  const int64_t vocab = model->config().vocab_padded;
  const Plain expected =
      plain_divergence(all_logits(base, tokens), all_logits(model, tokens), tokens, vocab);
  EXPECT_EQ(r.positions, static_cast<int64_t>(tokens.size()) - 1);
  EXPECT_NEAR(r.mean_kl, expected.mean_kl, 1e-4 * expected.mean_kl);
  EXPECT_NEAR(r.max_kl, expected.max_kl, 1e-4 * expected.max_kl);
  EXPECT_NEAR(std::log(r.perplexity), expected.nll, 1e-5);
  EXPECT_NEAR(std::log(r.base_perplexity), expected.base_nll, 1e-5);
  EXPECT_NEAR(r.top1_agreement, expected.agree, 1.5 / double(r.positions));
  EXPECT_GT(r.mean_kl, 0.0);
  EXPECT_GT(r.kl_standard_error, 0.0);
  EXPECT_LT(r.kl_standard_error, r.mean_kl);
  EXPECT_GE(r.max_kl, r.mean_kl);
  EXPECT_LT(r.top1_agreement, 1.0);
  std::printf("Q4_0 vs F32: mean KL %.5f max %.5f top-1 %.3f ppl %.3f base %.3f\n", r.mean_kl,
              r.max_kl, r.top1_agreement, r.perplexity, r.base_perplexity);
}

// llama.cpp's logits of the same files on prompt 3 (its own activation rounding differs from
// ours, so only roughly): the divergence is of the same size.
TEST(KlDivergence, OfTheSizeLlamaCppsLogitsGive) {
  const auto dir = testing::fixture_dir("llamacpp_quants");
  const std::vector<int32_t> tokens = prompts()[3];
  const Plain llama = plain_divergence(read_npy(dir / "logits_F32_p3.npy").data,
                                       read_npy(dir / "logits_Q4_0_p3.npy").data, tokens, 1024);
  Session session(load_model(qtest("Q4_0"))), base_session(load_model(qtest("F32")));
  const KlDivergenceResult r = measure_kl_divergence(session, base_session, tokens);
  std::printf("prompt 3: mean KL %.5f (llama.cpp %.5f), top-1 %.3f (llama.cpp %.3f)\n", r.mean_kl,
              llama.mean_kl, r.top1_agreement, llama.agree);
  EXPECT_NEAR(r.mean_kl, llama.mean_kl, 0.05 * llama.mean_kl);
  EXPECT_NEAR(r.top1_agreement, llama.agree, 0.03);
}

TEST(KlDivergence, AModelAgainstItselfIsZero) {
  const auto model = load_model(qtest("Q4_K_M"));
  Session a(model), b(model);
  const KlDivergenceResult r = measure_kl_divergence(a, b, prompts()[2]);
  EXPECT_LE(r.max_kl, 1e-12);
  EXPECT_EQ(r.top1_agreement, 1.0);
  EXPECT_NEAR(r.perplexity, r.base_perplexity, 1e-9 * r.perplexity);
}

TEST(KlDivergence, RefusesDifferentVocabulariesAndTooFewTokens) {
  Session model(load_model(qtest("Q4_0")));
  Session other(load_model(testing::fixture_dir("llamacpp_mamba1") / "m1_tiny-F32.gguf"));
  const std::vector<int32_t> tokens = {1, 2, 3};
  EXPECT_THROW(measure_kl_divergence(model, other, tokens), Error);
  const std::vector<int32_t> one = {1};
  EXPECT_THROW(measure_kl_divergence(model, model, one), Error);
}

}  // namespace
}  // namespace mamba2
