// The whole training model: every parameter gradient against central finite differences (double,
// two groups, a ragged last chunk, tied and untied lm_head), and the training forward's logits
// against the inference engine's on the same weights.
#include "runtime/training/training_model.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "mamba2/error.h"
#include "mamba2/random_model.h"
#include "mamba2/session.h"
#include "tests/runtime/training/gradient_check.h"

namespace mamba2::training {
namespace {

ModelConfig tiny_config(bool tied, int64_t d_model = 8, int64_t vocab = 16, int64_t chunk = 4) {
  ModelConfig c;
  c.d_model = d_model;
  c.n_layer = 2;
  c.vocab_size = vocab;
  c.d_state = 4;
  c.headdim = 4;
  c.ngroups = 2;
  c.chunk_size = chunk;
  c.tie_embeddings = tied;
  c.resolve("tiny");
  return c;
}

std::vector<int32_t> tokens_for(int64_t batch, int64_t seq_len, int64_t vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int32_t> tokens(batch * (seq_len + 1));
  for (int32_t& t : tokens) t = static_cast<int32_t>(rng() % vocab);
  return tokens;
}

class FullModelGradient : public ::testing::TestWithParam<bool> {};

TEST_P(FullModelGradient, EveryParameterMatchesFiniteDifferences) {
  const ModelConfig config = tiny_config(GetParam());
  const ParameterLayout layout(config);
  std::vector<double> params =
      parameters_from_weights<double>(layout, make_random_weights(config, 7));
  const int64_t batch = 2, seq_len = 7;
  const std::vector<int32_t> tokens = tokens_for(batch, seq_len, config.vocab_size, 8);
  TrainingModel<double> model(layout, batch, seq_len);
  ThreadingContext threading(2);
  auto loss = [&] {
    double value = 0;
    threading.execute([&] { value = model.forward(params.data(), tokens, threading); });
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

INSTANTIATE_TEST_SUITE_P(TiedAndUntied, FullModelGradient, ::testing::Values(true, false));

TEST(TrainingModel, ForwardLogitsEqualSession) {
  const ModelConfig config = tiny_config(true, 32, 40, 8);
  const ParameterLayout layout(config);
  ModelWeights weights = make_random_weights(config, 11);
  const std::vector<float> params = parameters_from_weights<float>(layout, weights);
  auto engine = std::make_shared<const Model>(std::move(weights));
  const int64_t batch = 3, seq_len = 21;
  const std::vector<int32_t> tokens = tokens_for(batch, seq_len, config.vocab_size, 12);
  TrainingModel<float> model(layout, batch, seq_len);
  ThreadingContext threading(2);
  threading.execute([&] { model.forward(params.data(), tokens, threading); });
  const int64_t V = config.vocab_padded;
  for (int64_t b = 0; b < batch; ++b) {
    Session session(engine);
    std::span<const int32_t> input(&tokens[b * (seq_len + 1)], seq_len);
    session.prefill(input, [&](int64_t position, std::span<const float> logits) {
      for (int64_t v = 0; v < V; ++v) {
        ASSERT_NEAR(model.logits()[(b * seq_len + position) * V + v], logits[v], 2e-4)
            << "sequence " << b << " position " << position << " id " << v;
      }
    });
  }
}

TEST(TrainingModel, ParametersRoundTripThroughModelWeights) {
  const ModelConfig config = tiny_config(false);
  const ParameterLayout layout(config);
  const std::vector<float> params = init_parameters(layout, 3);
  const ModelWeights weights = weights_from_parameters(layout, params, "tiny", std::nullopt);
  const std::vector<float> again = parameters_from_weights<float>(layout, weights);
  ASSERT_EQ(again.size(), params.size());
  for (size_t i = 0; i < params.size(); ++i) EXPECT_NEAR(again[i], params[i], 1e-6) << i;
}

TEST(TrainingModel, RefusesSizesBeyondMemoryOrOverflowBeforeAllocating) {
  const ModelConfig config = tiny_config(true, 64, 256, 16);
  const ParameterLayout layout(config);
  // 2^40 rows overflow the element count; 2^29 rows fit it but need over a terabyte.
  for (const int64_t batch : {int64_t{1} << 30, int64_t{1} << 19}) {
    try {
      TrainingModel<float> model(layout, batch, 1024);
      FAIL() << "batch " << batch << " was accepted";
    } catch (const Error& error) {
      EXPECT_NE(std::string(error.what()).find("too large"), std::string::npos) << error.what();
    }
  }
}

}  // namespace
}  // namespace mamba2::training
