// BatchDecoder against each session's own decode: for f32, bf16 and q8_0 weights on the tiny
// fixture and on random models, N = 1, 3 and 8 sessions with different histories stepped
// together give the logits and leave the states that stepping each alone gives.
#include "mamba2/batch_decoder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/matmul_bf16.h"
#include "mamba2/error.h"
#include "mamba2/model_loader.h"
#include "mamba2/random_model.h"
#include "runtime/gguf/gguf_model.h"
#include "tests/runtime/engine/small_models.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

using testing::random_tokens;

constexpr int kSteps = 5;
constexpr int64_t kMaxSessions = 8;

// d_ssm < d_inner adds the gated MLP part; untied gives lm_head its own weights.
ModelConfig random_config(int64_t d_ssm = 0, bool tied = true) {
  ModelConfig config;
  config.d_model = 64;
  config.n_layer = 2;
  config.vocab_size = 70;
  config.pad_vocab_size_multiple = 16;
  config.d_state = 16;
  config.headdim = 16;
  config.ngroups = 2;
  config.chunk_size = 8;
  config.d_ssm = d_ssm;
  config.tie_embeddings = tied;
  config.resolve("test");
  return config;
}

// The weights written as a GGUF file of `type` and loaded back, as a user would run them.
std::shared_ptr<const Model> model_of_type(const ModelWeights& weights, DType type,
                                           const std::string& name) {
  const auto path = testing::scratch_dir() / (name + "_" + std::string(dtype_name(type)) + ".gguf");
  write_gguf_model(weights, path, GgufWriteOptions{{type}, {}});
  return std::make_shared<const Model>(load_model_weights(path));
}

// kMaxSessions sessions with histories of different lengths (0 .. 2 chunks and more).
std::vector<Session> sessions_with_histories(const std::shared_ptr<const Model>& model) {
  std::vector<Session> sessions;
  for (int64_t s = 0; s < kMaxSessions; ++s) {
    Session session(model, SessionOptions{ThreadingContext(1)});
    const auto history = random_tokens(static_cast<size_t>(s * 3), model->config().vocab_size,
                                       static_cast<uint32_t>(100 + s));
    session.prefill(history);
    sessions.push_back(session);
  }
  return sessions;
}

// Steps the first n sessions kSteps times both ways and compares. Up to kGemvMaxTokens (f32) and
// kBf16GemmMinTokens - 1 (bf16) sessions, and for any number with q8_0, a token's row of a
// projection does not depend on the other tokens in it, so the batch matches exactly.
void expect_batch_matches_alone(const std::shared_ptr<const Model>& model, DType type, int64_t n) {
  SCOPED_TRACE(std::string(dtype_name(type)) + ", " + std::to_string(n) + " sessions");
  ASSERT_LE(n, kernels::kGemvMaxTokens);
  ASSERT_LT(n, kernels::kBf16GemmMinTokens);
  const int64_t vocab = model->config().vocab_padded;
  const std::vector<Session> start = sessions_with_histories(model);
  std::vector<Session> alone(start.begin(), start.begin() + n);
  std::vector<Session> together(start.begin(), start.begin() + n);
  std::vector<Session*> pointers;
  for (Session& session : together) pointers.push_back(&session);
  BatchDecoder decoder(model, kMaxSessions, ThreadingContext(2));

  for (int step = 0; step < kSteps; ++step) {
    const auto tokens = random_tokens(static_cast<size_t>(n), model->config().vocab_size,
                                      static_cast<uint32_t>(7 * step + n));
    const auto batch_logits = decoder.decode(pointers, tokens);
    ASSERT_EQ(batch_logits.size(), static_cast<size_t>(n * vocab));
    for (int64_t s = 0; s < n; ++s) {
      SCOPED_TRACE("step " + std::to_string(step) + ", session " + std::to_string(s));
      const auto expected = alone[s].decode(tokens[s]);
      const auto row = batch_logits.subspan(static_cast<size_t>(s * vocab), vocab);
      ASSERT_TRUE(std::equal(row.begin(), row.end(), expected.begin()));
    }
  }
  for (int64_t s = 0; s < n; ++s) {
    const SessionState& expected = alone[s].state();
    const SessionState& actual = together[s].state();
    EXPECT_EQ(actual, expected);
  }
}

void expect_all_batches_match(const ModelWeights& weights, const std::string& name) {
  for (DType type : {DType::kF32, DType::kBF16, DType::kQ8_0}) {
    const auto model = model_of_type(weights, type, name);
    for (int64_t n : {1, 3, 8}) expect_batch_matches_alone(model, type, n);
  }
}

TEST(BatchDecoder, MatchesEachSessionsOwnDecodeOnTheFixture) {
  expect_all_batches_match(load_model_weights(testing::fixture_dir("tiny")), "tiny");
  expect_all_batches_match(load_model_weights(testing::fixture_dir("m1_tiny")), "m1_tiny");
}

TEST(BatchDecoder, MatchesEachSessionsOwnDecodeOnRandomModels) {
  expect_all_batches_match(make_random_weights(random_config(), 3), "random");
  expect_all_batches_match(make_random_weights(random_config(96, false), 4), "random_mlp");
  expect_all_batches_match(make_random_weights(testing::small_mamba1_config(), 5), "random_m1");
}

TEST(BatchDecoder, RefusesBadBatchesBeforeChangingAnyState) {
  const auto model = std::make_shared<const Model>(make_random_weights(random_config(), 5));
  const auto other = std::make_shared<const Model>(make_random_weights(random_config(), 6));
  Session a(model), b(model), foreign(other);
  a.prefill(std::vector<int32_t>{1, 2, 3});
  const SessionState before = a.state();
  BatchDecoder decoder(model, 2, ThreadingContext(1));
  const std::vector<int32_t> two = {1, 2}, three = {1, 2, 3};
  const std::vector<int32_t> bad = {1, static_cast<int32_t>(model->config().vocab_padded)};
  Session c(model);
  const std::vector<Session*> pair = {&a, &b}, twice = {&a, &a}, mixed = {&a, &foreign},
                              too_many = {&a, &b, &c};
  EXPECT_THROW(decoder.decode(pair, three), Error);
  EXPECT_THROW(decoder.decode(twice, two), Error);
  EXPECT_THROW(decoder.decode(mixed, two), Error);
  EXPECT_THROW(decoder.decode(too_many, three), Error);
  EXPECT_THROW(decoder.decode(pair, bad), Error);
  EXPECT_EQ(a.state(), before);
  EXPECT_THROW(BatchDecoder(model, 0), Error);
}

TEST(BatchDecoder, RefusesMoreSessionsThanMemoryHoldsBeforeAllocating) {
  // Small weights, a large state: 48 layers x 2 heads x 64 x 4096 floats = 96 MiB per session,
  // so 4096 sessions ask for 384 GiB.
  ModelConfig config;
  config.d_model = 64;
  config.n_layer = 48;
  config.vocab_size = 64;
  config.d_state = 4096;
  config.headdim = 64;
  config.resolve("test");
  const auto model = std::make_shared<const Model>(make_random_weights(config, 9));
  try {
    BatchDecoder decoder(model, 4096, ThreadingContext(1));
    FAIL() << "4096 sessions of 96 MiB each were accepted";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("4096 sessions are too many"), std::string::npos)
        << error.what();
  }
  EXPECT_NO_THROW(BatchDecoder(model, 2, ThreadingContext(1)));
}

}  // namespace
}  // namespace mamba2
