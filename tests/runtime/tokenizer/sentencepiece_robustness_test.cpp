// Both SentencePiece paths on arbitrary and huge input: no crash, ids in range, valid text comes
// back, texts past a megabyte finish (the GGUF path merges them in pieces without changing an
// id), and one Tokenizer serves several threads at once.
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "mamba2/error.h"
#include "runtime/tokenizer/utf8.h"
#include "tests/runtime/tokenizer/tokenizer_test_util.h"

namespace mamba2 {
namespace {

// Just past the megabyte the GGUF path merges at a time.
constexpr size_t kLongText = (size_t{1} << 20) + 4097;

std::string random_text(std::mt19937& random) {
  static const std::vector<std::string> fragments = {"a",
                                                     "Hello",
                                                     " ",
                                                     "  ",
                                                     "\n",
                                                     "\t",
                                                     "\r\n",
                                                     "7",
                                                     "2024",
                                                     "[INST]",
                                                     "[/INST]",
                                                     "<s>",
                                                     "</s>",
                                                     "<unk>",
                                                     "[REFERENCE_DOC_3]",
                                                     "[",
                                                     "\xE2\x96\x81",
                                                     "\xFF",
                                                     "\xC0",
                                                     "\x80",
                                                     "\xE2\x82",
                                                     "\xF0\x9F",
                                                     "\xF0\x9F\xA6\x99",
                                                     "\xC3\xA9",
                                                     "e\xCC\x81",
                                                     "\xE4\xB8\xAD",
                                                     "\xE3\x80\x80",
                                                     std::string(1, '\0'),
                                                     "!?"};
  std::string text;
  const int length = static_cast<int>(random() % 24);
  for (int i = 0; i < length; ++i) text += fragments[random() % fragments.size()];
  return text;
}

class SentencePieceRobustness : public ::testing::TestWithParam<bool> {
 protected:
  const Tokenizer& tokenizer() const {
    return GetParam() ? testing::mistral_gguf_tokenizer() : testing::mistral_model_tokenizer();
  }
};

TEST_P(SentencePieceRobustness, RandomTextGivesIdsInRangeAndValidTextBack) {
  std::mt19937 random(GetParam() ? 11 : 12);
  for (int trial = 0; trial < 3000; ++trial) {
    const std::string text = random_text(random);
    for (const bool special : {false, true}) {
      const std::vector<int32_t> ids =
          special ? tokenizer().encode_special(text) : tokenizer().encode(text);
      for (const int32_t id : ids) ASSERT_TRUE(id >= 0 && id < tokenizer().size());
      const std::string decoded = tokenizer().decode(ids);
      if (!special && utf8::is_valid(text) && text.find("\xE2\x96\x81") == std::string::npos) {
        ASSERT_EQ(decoded, text) << "trial " << trial;
      }
    }
  }
}

TEST_P(SentencePieceRobustness, MegabyteTextsFinishAndComeBack) {
  for (const std::string& unit :
       {std::string("a"), std::string(" "), std::string("\xC3\xA9"), std::string("word ")}) {
    std::string text;
    while (text.size() < kLongText) text += unit;
    const std::vector<int32_t> ids = tokenizer().encode(text);
    EXPECT_LE(ids.size(), text.size() + 1);
    EXPECT_EQ(tokenizer().decode(ids), text) << "unit '" << unit << "'";
  }
}

TEST_P(SentencePieceRobustness, ConcurrentEncodesAgree) {
  std::mt19937 random(5);
  std::vector<std::string> texts;
  for (int i = 0; i < 200; ++i) texts.push_back(random_text(random));
  std::vector<std::vector<int32_t>> expected;
  for (const std::string& text : texts) expected.push_back(tokenizer().encode_special(text));
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < mismatches.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 10; ++round) {
        for (size_t i = 0; i < texts.size(); ++i) {
          if (tokenizer().encode_special(texts[i]) != expected[i]) ++mismatches[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const int count : mismatches) EXPECT_EQ(count, 0);
}

TEST_P(SentencePieceRobustness, DecodeRefusesIdsOutOfRange) {
  const std::vector<int32_t> too_big = {23325, 32768};
  const std::vector<int32_t> negative = {-1};
  EXPECT_THROW(tokenizer().decode(too_big), Error);
  EXPECT_THROW(tokenizer().decode(negative), Error);
  TokenStreamDecoder stream(tokenizer());
  EXPECT_THROW(stream.push(32768), Error);
}

INSTANTIATE_TEST_SUITE_P(BothPaths, SentencePieceRobustness, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& path) {
                           return path.param ? std::string("Gguf") : std::string("ModelFile");
                         });

// Past a megabyte the GGUF path merges in pieces, each ending before a space; with Mistral's
// vocabulary (▁ only at the start of a piece) that changes no id: the library, which merges the
// whole text, agrees.
TEST(SentencePieceRobustness, GgufPiecesOfALongTextChangeNoId) {
  std::mt19937 random(3);
  static const char* const words[] = {
      "the", "tokenizer",         "of", "Mamba", "-", "Codestral", "\n", "  ", "1",
      "42",  "\xC3\xA9t\xC3\xA9", ",",  "x"};
  std::string text;
  while (text.size() < kLongText) {
    text += words[random() % std::size(words)];
    text += ' ';
  }
  EXPECT_EQ(testing::mistral_gguf_tokenizer().encode(text),
            testing::mistral_model_tokenizer().encode(text));
}

}  // namespace
}  // namespace mamba2
