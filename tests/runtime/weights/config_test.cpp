#include "mamba2/config.h"

#include <gtest/gtest.h>

#include "mamba2/error.h"

namespace mamba2 {
namespace {

ModelConfig mamba2_130m() {
  ModelConfig config;
  config.d_model = 768;
  config.n_layer = 24;
  config.vocab_size = 50277;
  config.pad_vocab_size_multiple = 16;
  return config;
}

TEST(ModelConfig, DerivesTheSizesOfMamba2_130m) {
  ModelConfig config = mamba2_130m();
  config.resolve("test");
  EXPECT_EQ(config.vocab_padded, 50288);
  EXPECT_EQ(config.d_inner, 1536);
  EXPECT_EQ(config.d_ssm, 1536);
  EXPECT_EQ(config.nheads, 24);
  EXPECT_EQ(config.conv_dim, 1536 + 2 * 128);
  EXPECT_EQ(config.d_in_proj, 2 * 1536 + 2 * 128 + 24);
  EXPECT_EQ(config.d_mlp, 0);
}

TEST(ModelConfig, RejectsBadValuesWithTheFieldName) {
  ModelConfig negative = mamba2_130m();
  negative.d_model = -4;
  try {
    negative.resolve("config.json");
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_STREQ(error.what(), "config.json: d_model is -4, expected 1..65536");
  }

  ModelConfig ragged = mamba2_130m();
  ragged.headdim = 100;
  EXPECT_THROW(ragged.resolve("x"), Error);

  ModelConfig groups = mamba2_130m();
  groups.ngroups = 5;
  EXPECT_THROW(groups.resolve("x"), Error);

  ModelConfig huge = mamba2_130m();
  huge.vocab_size = int64_t{1} << 40;
  EXPECT_THROW(huge.resolve("x"), Error);
}

}  // namespace
}  // namespace mamba2
