// The reference fixtures through GGUF: checkpoint directory -> GGUF -> load keeps every tensor.
#include <gtest/gtest.h>

#include <cstring>

#include "quant/float16.h"
#include "quant/row_conversion.h"
#include "runtime/formats/checkpoint_dir.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/gguf_model.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

class GgufFixture : public ::testing::TestWithParam<const char*> {};

struct NamedView {
  std::string name;
  bool present;
  TensorView view;
};

std::vector<NamedView> tensors_of(ModelWeights& weights) {
  std::vector<NamedView> out;
  for_each_tensor(weights, [&](TensorSlot& slot) {
    out.push_back({slot.name, slot.present, *slot.view});
  });
  return out;
}

TEST_P(GgufFixture, F32RoundTripIsBitIdentical) {
  ModelWeights original = load_checkpoint_directory(testing::fixture_dir(GetParam()));
  const auto path = testing::scratch_dir() / "fixture.gguf";
  write_gguf_model(original, path);
  ModelWeights loaded = load_gguf_model(path);

  const ModelConfig& a = original.config;
  const ModelConfig& b = loaded.config;
  EXPECT_EQ(b.d_model, a.d_model);
  EXPECT_EQ(b.n_layer, a.n_layer);
  EXPECT_EQ(b.vocab_padded, a.vocab_padded);
  EXPECT_EQ(b.d_state, a.d_state);
  EXPECT_EQ(b.headdim, a.headdim);
  EXPECT_EQ(b.nheads, a.nheads);
  EXPECT_EQ(b.ngroups, a.ngroups);
  EXPECT_EQ(b.d_conv, a.d_conv);
  EXPECT_EQ(b.d_inner, a.d_inner);
  EXPECT_EQ(b.chunk_size, a.chunk_size);
  EXPECT_EQ(b.norm_eps, a.norm_eps);
  EXPECT_EQ(b.tie_embeddings, a.tie_embeddings);
  EXPECT_EQ(b.conv_bias, a.conv_bias);
  EXPECT_EQ(b.rmsnorm, a.rmsnorm);

  const auto before = tensors_of(original);
  const auto after = tensors_of(loaded);
  ASSERT_EQ(before.size(), after.size());
  int compared = 0;
  for (size_t i = 0; i < before.size(); ++i) {
    ASSERT_EQ(before[i].name, after[i].name);
    ASSERT_EQ(before[i].present, after[i].present) << before[i].name;
    if (!before[i].present) continue;
    const TensorView& x = before[i].view;
    const TensorView& y = after[i].view;
    EXPECT_EQ(x.dtype, y.dtype) << before[i].name;
    EXPECT_EQ(x.shape, y.shape) << before[i].name;
    ASSERT_EQ(x.nbytes, y.nbytes) << before[i].name;
    EXPECT_EQ(std::memcmp(x.data, y.data, x.nbytes), 0) << before[i].name;
    ++compared;
  }
  EXPECT_GE(compared, 1 + 9 * static_cast<int>(a.n_layer) + 1);
  // The lm_head the engine uses is the same numbers either way.
  ASSERT_EQ(loaded.lm_head.nbytes, original.lm_head.nbytes);
  EXPECT_EQ(std::memcmp(loaded.lm_head.data, original.lm_head.data, original.lm_head.nbytes), 0);
}

TEST_P(GgufFixture, F16RoundTripRoundsOnlyTheLargeWeights) {
  ModelWeights original = load_checkpoint_directory(testing::fixture_dir(GetParam()));
  const auto path = testing::scratch_dir() / "fixture-f16.gguf";
  write_gguf_model(original, path, {{DType::kF16}, {}});
  ModelWeights loaded = load_gguf_model(path);
  const auto before = tensors_of(original);
  const auto after = tensors_of(loaded);
  for (size_t i = 0; i < before.size(); ++i) {
    if (!before[i].present) continue;
    const TensorView& x = before[i].view;
    const TensorView& y = after[i].view;
    // The projections (Mamba-1's ssm_x and ssm_dt too) and the embedding.
    const bool large =
        x.shape.rank == 2 && (before[i].name.find("ssm_in") != std::string::npos ||
                              before[i].name.find("ssm_out") != std::string::npos ||
                              before[i].name.find("ssm_x") != std::string::npos ||
                              before[i].name.find("ssm_dt.weight") != std::string::npos ||
                              before[i].name.find("token_embd") != std::string::npos ||
                              before[i].name == "output.weight");
    EXPECT_EQ(y.dtype, large ? DType::kF16 : DType::kF32) << before[i].name;
    const auto xs = x.f32();
    std::vector<float> ys(static_cast<size_t>(y.numel()));
    convert_row_to_f32(y.dtype, y.data, ys.data(), y.numel());
    for (size_t j = 0; j < xs.size(); ++j) {
      ASSERT_EQ(ys[j], large ? f16_to_f32(f32_to_f16(xs[j])) : xs[j]) << before[i].name;
    }
  }
}

// falcon-mamba's flag survives the file (llama.cpp's mamba.ssm.dt_b_c_rms).
TEST(GgufMamba1, KeepsTheDtBCRmsFlag) {
  ModelWeights weights = load_checkpoint_directory(testing::fixture_dir("m1_tiny"));
  weights.config.dt_b_c_rms = true;
  weights.config.dt_b_c_rms_eps = 1e-6f;
  const auto path = testing::scratch_dir() / "falcon.gguf";
  write_gguf_model(weights, path);
  EXPECT_TRUE(load_gguf_model(path).config.dt_b_c_rms);
  EXPECT_FLOAT_EQ(load_gguf_model(path).config.dt_b_c_rms_eps, 1e-6f);
  EXPECT_EQ(GgufFile::open(path).find("mamba.ssm.dt_b_c_rms")->as_int(), 1);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GgufFixture,
                         ::testing::Values("tiny", "small_groups", "m1_tiny", "m1_small"));

// m1_tiny written here as llama.cpp's convert_hf_to_gguf.py writes it
// (shared/fixtures/llamacpp_mamba1): every mamba.* key with its type and value, every tensor with
// its shape and type (f32; q8_0 with ssm_dt.weight's rows of 4 falling back to f16), and the f32
// bytes.
TEST(GgufMamba1, WritesWhatLlamaCppsConverterWrites) {
  const ModelWeights weights = load_checkpoint_directory(testing::fixture_dir("m1_tiny"));
  const auto converter = testing::fixture_dir("llamacpp_mamba1");
  for (auto [type, file] : {std::pair{DType::kF32, "m1_tiny-F32.gguf"},
                            std::pair{DType::kQ8_0, "m1_tiny-Q8_0_converter.gguf"}}) {
    SCOPED_TRACE(file);
    const auto path = testing::scratch_dir() / "m1_tiny.gguf";
    write_gguf_model(weights, path, {{type}, {}});
    const GgufFile ours = GgufFile::open(path);
    const GgufFile theirs = GgufFile::open(converter / file);
    EXPECT_EQ(ours.get_string("general.architecture"), "mamba");
    for (const auto& [key, value] : theirs.metadata()) {
      if (!key.starts_with("mamba.")) continue;
      const GgufValue* mine = ours.find(key);
      ASSERT_NE(mine, nullptr) << key;
      EXPECT_EQ(mine->type, value.type) << key;
      EXPECT_EQ(mine->as_int(), value.as_int()) << key;
      EXPECT_EQ(mine->as_float(), value.as_float()) << key;
    }
    ASSERT_EQ(ours.tensors().size(), theirs.tensors().size());
    for (const GgufTensorInfo& info : theirs.tensors()) {
      const GgufTensorInfo* mine = ours.find_tensor(info.name);
      ASSERT_NE(mine, nullptr) << info.name;
      EXPECT_EQ(mine->shape, info.shape) << info.name;
      EXPECT_EQ(mine->dtype, info.dtype) << info.name;
      if (type != DType::kF32) continue;
      const TensorView a = ours.view(*mine), b = theirs.view(info);
      ASSERT_EQ(a.nbytes, b.nbytes) << info.name;
      EXPECT_EQ(std::memcmp(a.data, b.data, a.nbytes), 0) << info.name;
    }
  }
}

}  // namespace
}  // namespace mamba2
