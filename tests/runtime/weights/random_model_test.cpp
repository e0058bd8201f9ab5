#include "mamba2/random_model.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "mamba2/error.h"

namespace mamba2 {
namespace {

TEST(RandomModel, CodestralHasMistralsShape) {
  const ModelConfig config = released_model_config("codestral-7b");
  EXPECT_EQ(config.d_model, 4096);
  EXPECT_EQ(config.n_layer, 64);
  EXPECT_EQ(config.ngroups, 8);
  EXPECT_EQ(config.vocab_size, 32768);
  EXPECT_EQ(config.vocab_padded, 32768);
  EXPECT_FALSE(config.tie_embeddings);
  EXPECT_EQ(config.nheads, 128);
  EXPECT_EQ(config.conv_dim, 8192 + 2 * 8 * 128);
}

// Drawn in q8_0 tensor by tensor: the same bytes as drawn in f32 and converted afterwards.
TEST(RandomModel, DrawnInATypeEqualsConvertedAfterwards) {
  ModelConfig config;
  config.d_model = 64;
  config.n_layer = 2;
  config.ngroups = 2;
  config.vocab_size = 100;
  config.tie_embeddings = false;
  config.resolve("test");
  const QuantizationPolicy policy{DType::kQ8_0};
  ModelWeights converted = make_random_weights(config, 5);
  convert_weights(converted, policy);
  ModelWeights drawn = make_random_weights(config, 5, policy);
  int tensors = 0;
  for_each_tensor(drawn, [&](TensorSlot& slot) {
    if (!slot.present) return;
    ++tensors;
    const TensorView& view = *slot.view;
    std::string name = slot.name;
    for_each_tensor(converted, [&](TensorSlot& other) {
      if (other.name != name) return;
      EXPECT_EQ(view.dtype, other.view->dtype) << name;
      ASSERT_EQ(view.nbytes, other.view->nbytes) << name;
      EXPECT_EQ(std::memcmp(view.data, other.view->data, view.nbytes), 0) << name;
    });
  });
  EXPECT_GT(tensors, 10);
  EXPECT_EQ(drawn.embedding.dtype, DType::kQ8_0);
  EXPECT_EQ(drawn.layers[0].norm.dtype, DType::kF32);
}

TEST(RandomModel, RefusesWeightsLargerThanTheMachinesMemory) {
  ModelConfig config = released_model_config("codestral-7b");
  config.n_layer = 4096;  // ~1.8 TB in f32
  config.resolve("test");
  try {
    make_random_weights(config, 1);
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("more than this machine's"), std::string::npos)
        << error.what();
  }
}

}  // namespace
}  // namespace mamba2
