// Mistral's v3 SentencePiece tokenizer on every shared vector, both ways it reaches us: the
// .model file through the SentencePiece library (the reference, mistral-common's ids) and the
// GGUF vocabulary through our llama.cpp SPM algorithm (llama.cpp's ids, parse_special off and
// on); and llama.cpp's own Llama 2 SPM test vocabulary.
#include <gtest/gtest.h>

#include "mamba2/tokenizer.h"
#include "tests/runtime/tokenizer/tokenizer_test_util.h"

namespace mamba2 {
namespace {

using testing::printable;
using testing::read_vector_set;

void expect_vectors(const Tokenizer& tokenizer, const std::string& set, bool parse_special) {
  const auto cases = read_vector_set(set);
  ASSERT_FALSE(cases.empty());
  int passed = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::vector<int32_t> ids =
        parse_special ? tokenizer.encode_special(cases[i].text) : tokenizer.encode(cases[i].text);
    EXPECT_EQ(ids, cases[i].ids) << set << " case " << i << ": \"" << printable(cases[i].text)
                                 << "\"";
    passed += ids == cases[i].ids;
  }
  std::printf("%s: %d / %zu\n", set.c_str(), passed, cases.size());
}

TEST(SentencePieceVectors, ModelFileEncodesLikeTheLibrary) {
  expect_vectors(testing::mistral_model_tokenizer(), "mistral-v3", false);
}

TEST(SentencePieceVectors, GgufEncodesLikeLlamaCpp) {
  expect_vectors(testing::mistral_gguf_tokenizer(), "mistral-v3-gguf", false);
}

TEST(SentencePieceVectors, GgufWithParseSpecialEncodesLikeLlamaCpp) {
  expect_vectors(testing::mistral_gguf_tokenizer(), "mistral-v3-gguf-special", true);
}

TEST(SentencePieceVectors, LlamaSpmVocabularyEncodesLikeLlamaCpp) {
  expect_vectors(testing::llama_spm_tokenizer(), "ggml-vocab-llama-spm.gguf", false);
}

// llama.cpp cuts the escaped text into characters by lead byte alone: a stray lead byte takes
// the next bytes with it, even those of a ▁, and they all fall back to byte tokens. (Found by
// the spm_tokenize fuzzer: decoding then gives the ▁ back as bytes, not as a space.)
TEST(SentencePieceVectors, GgufCutsIllFormedUtf8ByLeadByteAsLlamaCpp) {
  constexpr int32_t kByte0 = 771;
  const std::vector<int32_t> ids = testing::mistral_gguf_tokenizer().encode("\xE0 world");
  ASSERT_GE(ids.size(), 5u);
  EXPECT_EQ(
      std::vector<int32_t>(ids.begin(), ids.begin() + 5),
      (std::vector<int32_t>{29473, kByte0 + 0xE0, kByte0 + 0xE2, kByte0 + 0x96, kByte0 + 0x81}));
  // The library reads the byte as U+FFFD (a piece of its own in this vocabulary).
  EXPECT_EQ(testing::mistral_model_tokenizer().encode("\xE0 world"),
            (std::vector<int32_t>{29473, 29905, 2294}));
}

}  // namespace
}  // namespace mamba2
