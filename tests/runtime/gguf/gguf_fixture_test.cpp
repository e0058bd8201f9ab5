// The reference fixtures through GGUF: checkpoint directory -> GGUF -> load keeps every tensor.
#include <gtest/gtest.h>

#include <cstring>

#include "mamba2/error.h"
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

// llama-quantize's outputs of shared/fixtures/llamacpp_quants.
std::filesystem::path llamacpp_file(const std::string& type) {
  return testing::fixture_dir("llamacpp_quants") / ("mamba2-qtest-" + type + ".gguf");
}

TEST(LlamaCppQuantFiles, TheFileReadsEveryBlockType) {
  const GgufFile file = GgufFile::open(llamacpp_file("Q4_K_M"));
  const GgufTensorInfo* in_proj = file.find_tensor("blk.0.ssm_in.weight");
  ASSERT_NE(in_proj, nullptr);
  EXPECT_EQ(in_proj->dtype, DType::kQ4_K);
  EXPECT_EQ(in_proj->shape, (TensorShape{1160, 256}));
  EXPECT_EQ(in_proj->nbytes, 1160u * 144u);
  EXPECT_EQ(file.find_tensor("token_embd.weight")->dtype, DType::kQ6_K);
  EXPECT_EQ(GgufFile::open(llamacpp_file("IQ4_NL")).find_tensor("blk.1.ssm_out.weight")->dtype,
            DType::kIQ4_NL);
}

TEST(LlamaCppQuantFiles, LoadsEveryTypeAsViewsOfTheFile) {
  // The projections and the embedding are views of the mapped file, whatever their type.
  const GgufFile file = GgufFile::open(llamacpp_file("Q3_K_M"));
  const ModelWeights weights = load_gguf_model(llamacpp_file("Q3_K_M"));
  EXPECT_EQ(weights.layers[0].in_proj.dtype, DType::kQ3_K);
  EXPECT_EQ(weights.embedding.dtype, DType::kQ6_K);
  EXPECT_EQ(weights.layers[1].out_proj.nbytes, file.find_tensor("blk.1.ssm_out.weight")->nbytes);
}

TEST(LlamaCppQuantFiles, FileTypeIsLlamaQuantizes) {
  // general.file_type as llama-quantize wrote it, for the files whose large weights are one type.
  const std::pair<const char*, DType> files[] = {
      {"Q4_0", DType::kQ4_0},     {"Q4_1", DType::kQ4_1}, {"Q5_0", DType::kQ5_0},
      {"Q5_1", DType::kQ5_1},     {"Q2_K", DType::kQ2_K}, {"Q4_K_S", DType::kQ4_K},
      {"Q5_K_S", DType::kQ5_K},   {"Q6_K", DType::kQ6_K}, {"IQ4_NL", DType::kIQ4_NL},
      {"IQ4_XS", DType::kIQ4_XS}, {"Q8_0", DType::kQ8_0}};
  for (const auto& [name, type] : files) {
    EXPECT_EQ(GgufFile::open(llamacpp_file(name)).get_int("general.file_type"),
              QuantizationPolicy{type}.llama_file_type())
        << name;
  }
}

}  // namespace
}  // namespace mamba2
