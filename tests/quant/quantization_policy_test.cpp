// QuantizationPolicy against llama-quantize's rules (src/llama-quant.cpp at 34af94c):
// tensor_type_fallback for rows that are not whole blocks, the output / tied-embedding rule of
// llama_tensor_get_type_impl, and the file type names and numbers of tools/quantize and llama.h.
// The fallbacks for 256-weight types were also confirmed by running llama-quantize on
// fixtures/llamacpp_mamba1/m1_tiny-F32.gguf (rows of 64, 128 and 4): see
// tests/runtime/gguf/gguf_requantize_test.cpp, which compares whole files.
#include <gtest/gtest.h>

#include <string>

#include "mamba2/quantization.h"

namespace mamba2 {
namespace {

struct FallbackCase {
  DType asked;
  int64_t row;  // weights per row
  DType expected;
  bool llama_refuses;  // llama-quantize has no fallback: "no tensor type fallback is defined"
};

class Fallback : public ::testing::TestWithParam<FallbackCase> {};

TEST_P(Fallback, ProjectionOfOddRowsFallsBackAsLlamaQuantize) {
  const FallbackCase c = GetParam();
  const QuantizationPolicy policy{c.asked};
  const TensorTypeChoice choice =
      policy.tensor_type("blk.0.ssm_in.weight", TensorRole::kProjection, {8, c.row});
  EXPECT_EQ(choice.type, c.expected) << dtype_name(c.asked) << " rows of " << c.row;
  const bool fell_back = c.row % dtype_info(c.asked).block_elems != 0;
  EXPECT_EQ(choice.fallback_from.has_value(), fell_back);
  if (fell_back) {
    EXPECT_EQ(*choice.fallback_from, c.asked);
  }
  EXPECT_EQ(choice.beyond_llama_quantize, c.llama_refuses);
}

INSTANTIATE_TEST_SUITE_P(
    LlamaQuant, Fallback,
    ::testing::Values(
        // Whole blocks: the type asked.
        FallbackCase{DType::kQ4_K, 512, DType::kQ4_K, false},
        FallbackCase{DType::kQ4_0, 96, DType::kQ4_0, false},
        // 256-weight types on rows of 32k: a 32-weight type.
        FallbackCase{DType::kQ4_K, 64, DType::kQ5_0, false},
        FallbackCase{DType::kQ5_K, 128, DType::kQ5_1, false},
        FallbackCase{DType::kQ6_K, 96, DType::kQ8_0, false},
        FallbackCase{DType::kQ2_K, 64, DType::kQ4_0, false},
        FallbackCase{DType::kQ3_K, 288, DType::kQ4_0, false},
        FallbackCase{DType::kIQ4_XS, 160, DType::kIQ4_NL, false},
        // Neither fits: F16 ("must use F16 due to unusual shape").
        FallbackCase{DType::kQ4_K, 4, DType::kF16, false},
        FallbackCase{DType::kQ6_K, 48, DType::kF16, false},
        FallbackCase{DType::kIQ4_XS, 100, DType::kF16, false},
        // 32-weight types: llama-quantize stops; we write F16 as llama.cpp's converter does.
        FallbackCase{DType::kQ8_0, 48, DType::kF16, true},
        FallbackCase{DType::kQ4_0, 4, DType::kF16, true},
        FallbackCase{DType::kQ5_1, 20, DType::kF16, true},
        FallbackCase{DType::kIQ4_NL, 40, DType::kF16, true},
        // Plain floats have no blocks.
        FallbackCase{DType::kF16, 3, DType::kF16, false},
        FallbackCase{DType::kBF16, 5, DType::kBF16, false}));

// The tied embedding (or output.weight) of a 2- to 6-bit file is Q6_K, or Q8_0 when its rows are
// not whole blocks of the file's type, and then falls back like any tensor.
TEST(OutputRule, TiedEmbeddingAndOutputTakeLlamaQuantizesOutputType) {
  QuantizationPolicy q4_0{DType::kQ4_0};
  q4_0.tied_embeddings = true;
  EXPECT_EQ(q4_0.tensor_type("token_embd.weight", TensorRole::kEmbedding, {1024, 256}).type,
            DType::kQ6_K);
  // Q6_K does not fit 64 but Q4_0 does: Q6_K, then its fallback Q8_0.
  EXPECT_EQ(q4_0.tensor_type("token_embd.weight", TensorRole::kEmbedding, {256, 64}).type,
            DType::kQ8_0);
  QuantizationPolicy q4_k{DType::kQ4_K};
  q4_k.tied_embeddings = true;
  // Rows of 64 are not whole Q4_K blocks: Q8_0 (not a fallback in llama-quantize's count).
  const TensorTypeChoice m1 =
      q4_k.tensor_type("token_embd.weight", TensorRole::kEmbedding, {256, 64});
  EXPECT_EQ(m1.type, DType::kQ8_0);
  EXPECT_FALSE(m1.fallback_from);
  // Q8_0 rows of 48: Q8_0 asked, and no fallback for it.
  EXPECT_EQ(q4_k.tensor_type("token_embd.weight", TensorRole::kEmbedding, {256, 48}).type,
            DType::kF16);
  // Untied: token_embd is an ordinary tensor, output.weight gets the rule.
  q4_k.tied_embeddings = false;
  EXPECT_EQ(q4_k.tensor_type("token_embd.weight", TensorRole::kEmbedding, {1024, 256}).type,
            DType::kQ4_K);
  EXPECT_EQ(q4_k.tensor_type("output.weight", TensorRole::kOutput, {1024, 256}).type, DType::kQ6_K);
  // Q8_0, F16 and BF16 files keep their type on the output.
  for (const DType type : {DType::kQ8_0, DType::kF16, DType::kBF16, DType::kF32}) {
    EXPECT_EQ(QuantizationPolicy{type}
                  .tensor_type("output.weight", TensorRole::kOutput, {1024, 256})
                  .type,
              type);
  }
}

TEST(OutputRule, EmbeddingTypeAndKeepF32OverrideTheRules) {
  QuantizationPolicy policy{DType::kQ4_K};
  policy.tied_embeddings = true;
  policy.embedding_type = DType::kBF16;
  policy.keep_f32 = [](std::string_view name) { return name == "blk.1.ssm_out.weight"; };
  EXPECT_EQ(policy.tensor_type("token_embd.weight", TensorRole::kEmbedding, {1024, 256}).type,
            DType::kBF16);
  EXPECT_EQ(policy.tensor_type("blk.1.ssm_out.weight", TensorRole::kProjection, {256, 512}).type,
            DType::kF32);
  EXPECT_EQ(policy.tensor_type("blk.0.ssm_out.weight", TensorRole::kProjection, {256, 512}).type,
            DType::kQ4_K);
  EXPECT_EQ(policy.tensor_type("blk.0.ssm_norm.weight", TensorRole::kSmall, {1, 512}).type,
            DType::kF32);
}

TEST(LlamaFileTypes, NamesAsLlamaQuantizeSpellsThemCaseInsensitively) {
  EXPECT_EQ(llama_file_type_from_name("Q4_K_M"), LlamaFileType::kQ4_K_M);
  EXPECT_EQ(llama_file_type_from_name("q4_k_m"), LlamaFileType::kQ4_K_M);
  EXPECT_EQ(llama_file_type_from_name("iq4_XS"), LlamaFileType::kIQ4_XS);
  EXPECT_EQ(llama_file_type_from_name("bf16"), LlamaFileType::kBF16);
  // tools/quantize's aliases for the _M mixes.
  EXPECT_EQ(llama_file_type_from_name("q4_K"), LlamaFileType::kQ4_K_M);
  EXPECT_EQ(llama_file_type_from_name("Q3_K"), LlamaFileType::kQ3_K_M);
  EXPECT_EQ(llama_file_type_from_name("q5_k"), LlamaFileType::kQ5_K_M);
  EXPECT_FALSE(llama_file_type_from_name("q4_k_x"));
  EXPECT_FALSE(llama_file_type_from_name("iq2_xxs"));  // not a type we write
  EXPECT_FALSE(llama_file_type_from_name(""));
  EXPECT_NE(llama_file_type_names().find("q4_k_m"), std::string::npos);
}

TEST(LlamaFileTypes, MixesShareTheDefaultTypeAndDifferInFileType) {
  // enum llama_ftype in include/llama.h.
  const struct {
    const char* name;
    uint32_t file_type;
    DType type;
  } expected[] = {
      {"F32", 0, DType::kF32},      {"F16", 1, DType::kF16},        {"Q4_0", 2, DType::kQ4_0},
      {"Q4_1", 3, DType::kQ4_1},    {"Q8_0", 7, DType::kQ8_0},      {"Q5_0", 8, DType::kQ5_0},
      {"Q5_1", 9, DType::kQ5_1},    {"Q2_K", 10, DType::kQ2_K},     {"Q3_K_S", 11, DType::kQ3_K},
      {"Q3_K_M", 12, DType::kQ3_K}, {"Q3_K_L", 13, DType::kQ3_K},   {"Q4_K_S", 14, DType::kQ4_K},
      {"Q4_K_M", 15, DType::kQ4_K}, {"Q5_K_S", 16, DType::kQ5_K},   {"Q5_K_M", 17, DType::kQ5_K},
      {"Q6_K", 18, DType::kQ6_K},   {"IQ4_NL", 25, DType::kIQ4_NL}, {"IQ4_XS", 30, DType::kIQ4_XS},
      {"BF16", 32, DType::kBF16}};
  for (const auto& e : expected) {
    const auto file_type = llama_file_type_from_name(e.name);
    ASSERT_TRUE(file_type) << e.name;
    const QuantizationPolicy policy = QuantizationPolicy::for_llama_file_type(*file_type);
    EXPECT_EQ(policy.llama_file_type(), e.file_type) << e.name;
    EXPECT_EQ(policy.type, e.type) << e.name;
    EXPECT_EQ(llama_file_type_info(*file_type).name, e.name);
  }
  // Without a file type, a policy reports its type's plain mix, as before.
  EXPECT_EQ(QuantizationPolicy{DType::kQ4_K}.llama_file_type(), 14u);
  EXPECT_EQ(QuantizationPolicy{DType::kQ8_0}.llama_file_type(), 7u);
}

}  // namespace
}  // namespace mamba2
