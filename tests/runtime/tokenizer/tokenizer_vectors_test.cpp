// The NeoX tokenizer against Hugging Face's ids on every shared test vector.
#include <gtest/gtest.h>

#include "mamba2/error.h"
#include "mamba2/tokenizer.h"
#include "runtime/tokenizer/nfc.h"
#include "tests/runtime/tokenizer/tokenizer_test_util.h"

namespace mamba2 {
namespace {

using testing::neox_tokenizer;
using testing::printable;

class TokenizerVectors : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizerVectors, EncodesEveryCaseLikeHuggingFace) {
  const auto cases = testing::read_vector_set(GetParam());
  ASSERT_FALSE(cases.empty());
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(neox_tokenizer().encode(cases[i].text), cases[i].ids)
        << GetParam() << " case " << i << ": \"" << printable(cases[i].text) << "\"";
  }
}

TEST_P(TokenizerVectors, DecodeOfEncodeIsTheNfcText) {
  for (const testing::TokenizerCase& c : testing::read_vector_set(GetParam())) {
    EXPECT_EQ(neox_tokenizer().decode(neox_tokenizer().encode(c.text)), to_nfc(c.text))
        << "\"" << printable(c.text) << "\"";
  }
}

INSTANTIATE_TEST_SUITE_P(SharedData, TokenizerVectors,
                         ::testing::ValuesIn(testing::vector_set_names()),
                         [](const ::testing::TestParamInfo<std::string>& set) {
                           std::string name = set.param;
                           for (char& c : name) c = c == '-' ? '_' : c;
                           return name;
                         });

TEST(NeoxTokenizer, LoadsTheVocabularyAsLlamaCppConverts) {
  const Tokenizer& tokenizer = neox_tokenizer();
  const TokenizerData& data = tokenizer.data();
  EXPECT_EQ(tokenizer.size(), 50277);
  EXPECT_EQ(data.merges.size(), 50009u);
  EXPECT_EQ(data.model, "gpt2");
  EXPECT_EQ(data.pre, "olmo");
  EXPECT_EQ(tokenizer.bos_id(), 0);
  EXPECT_EQ(tokenizer.eos_id(), 0);
  EXPECT_EQ(tokenizer.pad_id(), 1);
  EXPECT_TRUE(tokenizer.is_control(0));
  EXPECT_TRUE(tokenizer.is_control(1));
  EXPECT_FALSE(tokenizer.is_control(2));
  EXPECT_FALSE(tokenizer.is_control(50254));
  EXPECT_FALSE(tokenizer.is_control(-1));
  EXPECT_EQ(data.token_types[50254], TokenType::kUserDefined);
  EXPECT_EQ(tokenizer.token_text(50254), std::string(24, ' '));
  EXPECT_EQ(tokenizer.token_text(50276), "  ");
  EXPECT_EQ(tokenizer.token_text(0), "<|endoftext|>");
}

TEST(NeoxTokenizer, SpaceRunsAreAddedTokensBeforePreTokenization) {
  const Tokenizer& tokenizer = neox_tokenizer();
  EXPECT_EQ(tokenizer.encode("  Hello"), (std::vector<int32_t>{50276, 12092}));
  EXPECT_EQ(tokenizer.encode("x" + std::string(25, ' ') + "z"),
            (std::vector<int32_t>{89, 50254, 1182}));
  EXPECT_EQ(tokenizer.encode("Hello world"), (std::vector<int32_t>{12092, 1533}));
  EXPECT_TRUE(tokenizer.encode("").empty());
}

TEST(NeoxTokenizer, LiteralSpecialTokensBecomeTheirIds) {
  const std::vector<int32_t> ids = neox_tokenizer().encode("a<|endoftext|>b<|padding|>");
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_EQ(ids[1], 0);
  EXPECT_EQ(ids[3], 1);
  EXPECT_EQ(neox_tokenizer().decode(ids), "a<|endoftext|>b<|padding|>");
}

TEST(NeoxTokenizer, IllFormedUtf8IsReadAsReplacementCharacters) {
  const Tokenizer& tokenizer = neox_tokenizer();
  EXPECT_EQ(tokenizer.encode("a\xFF"
                             "b"),
            tokenizer.encode("a\xEF\xBF\xBD"
                             "b"));
  EXPECT_EQ(tokenizer.encode("\xF0\x9F\xA6"), tokenizer.encode("\xEF\xBF\xBD"));
}

TEST(NeoxTokenizer, DecodeRejectsIdsOutOfRange) {
  const Tokenizer& tokenizer = neox_tokenizer();
  const std::vector<int32_t> too_big = {12092, 50277};
  const std::vector<int32_t> negative = {-1};
  EXPECT_THROW(tokenizer.decode(too_big), Error);
  EXPECT_THROW(tokenizer.decode(negative), Error);
  EXPECT_THROW(tokenizer.token_text(50277), Error);
  EXPECT_THROW(tokenizer.token_text(-5), Error);
}

// A GGUF carries the same vocabulary padded with unused entries (llama.cpp's NeoX GGUF has
// 50432); a tokenizer built from that form must give the same ids.
TEST(NeoxTokenizer, GgufPaddedVocabularyTokenizesAlike) {
  TokenizerData data = neox_tokenizer().data();
  for (int32_t id = 50277; id < 50432; ++id) {
    data.tokens.push_back("[PAD" + std::to_string(id) + "]");
    data.token_types.push_back(TokenType::kUnused);
  }
  const Tokenizer padded(std::move(data), "padded.gguf");
  EXPECT_EQ(padded.size(), 50432);
  for (const std::string& name : testing::vector_set_names()) {
    for (const testing::TokenizerCase& c : testing::read_vector_set(name)) {
      EXPECT_EQ(padded.encode(c.text), c.ids) << printable(c.text);
    }
  }
}

}  // namespace
}  // namespace mamba2
