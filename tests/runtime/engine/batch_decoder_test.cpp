// BatchDecoder against each session's own decode: for f32, bf16 and q8_0 weights on the tiny
// fixtures and on random models, N = 1 .. 9 and 17 sessions with different histories stepped
// together, and batches that sessions join and leave from step to step, give the logits and
// leave the states that stepping each alone gives, bit for bit: a batch's projections compute
// each row as a GEMV of it alone would (kernels::TokenRows::kSeparateSequences), whatever the
// count, so even past kGemvMaxTokens (f32) and kBf16GemmMinTokens (bf16) no sgemm or AMX path
// changes the order of a sum. ctest runs this at every SIMD level the machine has (MAMBA2_SIMD).
#include "mamba2/batch_decoder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "mamba2/error.h"
#include "mamba2/model_loader.h"
#include "mamba2/random_model.h"
#include "runtime/gguf/gguf_model.h"
#include "tests/runtime/engine/small_models.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

using testing::random_tokens;

constexpr int kSteps = 3;
// Past kBf16GemmMinTokens, where a prefill of as many tokens would take bf16's GEMM path.
constexpr int64_t kMaxSessions = 17;

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

// Steps the first n sessions kSteps times both ways and compares.
void expect_batch_matches_alone(const std::shared_ptr<const Model>& model, DType type, int64_t n) {
  SCOPED_TRACE(std::string(dtype_name(type)) + ", " + std::to_string(n) + " sessions");
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

constexpr DType kTypes[] = {DType::kF32, DType::kBF16, DType::kQ8_0};

void expect_batches_match(const ModelWeights& weights, const std::string& name,
                          std::initializer_list<int64_t> counts) {
  for (DType type : kTypes) {
    const auto model = model_of_type(weights, type, name);
    for (int64_t n : counts) expect_batch_matches_alone(model, type, n);
  }
}

TEST(BatchDecoder, MatchesEachSessionsOwnDecodeOnTheFixture) {
  expect_batches_match(load_model_weights(testing::fixture_dir("tiny")), "tiny", {1, 3, 9});
  expect_batches_match(load_model_weights(testing::fixture_dir("m1_tiny")), "m1_tiny", {1, 3, 9});
}

TEST(BatchDecoder, MatchesEachSessionsOwnDecodeOnRandomModels) {
  expect_batches_match(make_random_weights(random_config(), 3), "random",
                       {1, 2, 3, 4, 5, 6, 7, 8, 9, kMaxSessions});
  expect_batches_match(make_random_weights(random_config(96, false), 4), "random_mlp",
                       {1, 8, kMaxSessions});
  expect_batches_match(make_random_weights(testing::small_mamba1_config(), 5), "random_m1",
                       {1, 8, kMaxSessions});
}

// A server's batch: sessions at different positions join and leave from one step to the next,
// in no particular order. Session s takes part in steps [s % 3, s % 3 + 4 + s % 5); each
// step's batch lists its sessions in a shuffled order. Every session, stepped alone through
// the same tokens, gives the same logits and ends in the same state.
void expect_ragged_batches_match(const std::shared_ptr<const Model>& model, DType type) {
  SCOPED_TRACE(std::string(dtype_name(type)));
  constexpr int kRaggedSteps = 9;
  const int64_t vocab = model->config().vocab_padded;
  const std::vector<Session> start = sessions_with_histories(model);
  std::vector<Session> alone = start, together = start;
  BatchDecoder decoder(model, kMaxSessions, ThreadingContext(2));
  std::mt19937 rng(11);
  int64_t largest = 0;
  for (int step = 0; step < kRaggedSteps; ++step) {
    std::vector<int64_t> members;
    for (int64_t s = 0; s < kMaxSessions; ++s) {
      if (step >= s % 3 && step < s % 3 + 4 + s % 5) members.push_back(s);
    }
    std::shuffle(members.begin(), members.end(), rng);
    largest = std::max<int64_t>(largest, static_cast<int64_t>(members.size()));
    const auto tokens = random_tokens(members.size(), model->config().vocab_size,
                                      static_cast<uint32_t>(31 * step + 1));
    std::vector<Session*> pointers;
    for (int64_t s : members) pointers.push_back(&together[s]);
    const auto batch_logits = decoder.decode(pointers, tokens);
    for (size_t i = 0; i < members.size(); ++i) {
      SCOPED_TRACE("step " + std::to_string(step) + ", session " + std::to_string(members[i]));
      const auto expected = alone[members[i]].decode(tokens[i]);
      const auto row = batch_logits.subspan(i * static_cast<size_t>(vocab), vocab);
      ASSERT_TRUE(std::equal(row.begin(), row.end(), expected.begin()));
    }
  }
  EXPECT_GT(largest, 9);  // the batch grew past the f32 GEMV's 8 tokens in one call
  for (int64_t s = 0; s < kMaxSessions; ++s) {
    SCOPED_TRACE("session " + std::to_string(s));
    EXPECT_EQ(together[s].state(), alone[s].state());
  }
}

TEST(BatchDecoder, RaggedBatchesMatchEachSessionsOwnDecode) {
  for (const auto& [weights, name] :
       {std::pair{make_random_weights(random_config(), 7), "ragged"},
        std::pair{make_random_weights(testing::small_mamba1_config(), 8), "ragged_m1"}}) {
    for (DType type : kTypes) expect_ragged_batches_match(model_of_type(weights, type, name), type);
  }
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
