// Decoding with both SentencePiece paths: whole sequences as their references decode them, and
// one token at a time through TokenStreamDecoder, which must add up to the same text and never
// hand out half a character.
#include <gtest/gtest.h>

#include <random>

#include "mamba2/tokenizer.h"
#include "runtime/tokenizer/utf8.h"
#include "tests/runtime/tokenizer/tokenizer_test_util.h"

namespace mamba2 {
namespace {

using testing::mistral_gguf_tokenizer;
using testing::mistral_model_tokenizer;

constexpr int32_t kBos = 1, kEos = 2, kInst = 3, kEndInst = 4;
constexpr int32_t kSpacePiece = 29473;  // "▁"
constexpr int32_t kHello = 23325;       // "▁Hello"
constexpr int32_t kWorld = 2294;        // "▁world"
constexpr int32_t kByte0 = 771;         // "<0x00>"

const Tokenizer& path_tokenizer(bool gguf) {
  return gguf ? mistral_gguf_tokenizer() : mistral_model_tokenizer();
}

std::string streamed(const Tokenizer& tokenizer, const std::vector<int32_t>& ids) {
  TokenStreamDecoder decoder(tokenizer);
  std::string text;
  for (const int32_t id : ids) {
    const std::string piece = decoder.push(id);
    EXPECT_TRUE(utf8::is_valid(piece)) << "token " << id;
    text += piece;
  }
  return text + decoder.flush();
}

class SentencePieceDecode : public ::testing::TestWithParam<bool> {};

TEST_P(SentencePieceDecode, DecodeOfEncodeGivesTheTextBack) {
  const Tokenizer& tokenizer = path_tokenizer(GetParam());
  for (const auto& c : testing::read_vector_set("mistral-v3")) {
    // SentencePiece's space symbol is ▁ itself, so a literal ▁ comes back as a space.
    if (c.text.find("\xE2\x96\x81") != std::string::npos) continue;
    EXPECT_EQ(tokenizer.decode(tokenizer.encode(c.text)), c.text);
  }
}

TEST_P(SentencePieceDecode, StreamAddsUpToTheWholeDecoding) {
  const Tokenizer& tokenizer = path_tokenizer(GetParam());
  for (const auto& c : testing::read_vector_set("mistral-v3")) {
    std::vector<int32_t> ids = tokenizer.encode(c.text);
    EXPECT_EQ(streamed(tokenizer, ids), tokenizer.decode(ids));
    // A reply as the chat streams it: after [INST] ... [/INST], ending with EOS.
    ids.insert(ids.begin(), {kBos, kInst, kHello, kEndInst});
    ids.push_back(kEos);
    EXPECT_EQ(streamed(tokenizer, ids), tokenizer.decode(ids));
  }
}

TEST_P(SentencePieceDecode, StreamOfRandomIdsAddsUpToTheWholeDecoding) {
  const Tokenizer& tokenizer = path_tokenizer(GetParam());
  std::mt19937 random(7);
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<int32_t> ids;
    const int length = static_cast<int>(random() % 12);
    for (int i = 0; i < length; ++i) {
      // Mostly ordinary pieces, with control, byte and whitespace pieces mixed in.
      switch (random() % 4) {
        case 0:
          ids.push_back(static_cast<int32_t>(random() % 16));
          break;
        case 1:
          ids.push_back(kSpacePiece);
          break;
        default:
          ids.push_back(static_cast<int32_t>(1027 + random() % (32768 - 1027)));
      }
    }
    EXPECT_EQ(streamed(tokenizer, ids), tokenizer.decode(ids)) << "trial " << trial;
  }
}

TEST_P(SentencePieceDecode, StreamHoldsBackACharacterSplitIntoByteTokens) {
  TokenStreamDecoder decoder(path_tokenizer(GetParam()));
  EXPECT_EQ(decoder.push(kHello), "Hello");
  EXPECT_EQ(decoder.push(kByte0 + 0x20), " ");  // <0x20>
  EXPECT_EQ(decoder.push(kByte0 + 0xF0), "");
  EXPECT_EQ(decoder.push(kByte0 + 0x9F), "");
  EXPECT_EQ(decoder.push(kByte0 + 0xA6), "");
  EXPECT_EQ(decoder.push(kByte0 + 0x99), "🦙");
  EXPECT_EQ(decoder.push(kWorld), " world");
  EXPECT_EQ(decoder.flush(), "");
}

TEST_P(SentencePieceDecode, OnlyTheFirstPieceLosesTheDummyPrefixSpace) {
  const Tokenizer& tokenizer = path_tokenizer(GetParam());
  const std::vector<int32_t> hello_world = {kHello, kWorld};
  EXPECT_EQ(tokenizer.decode(hello_world), "Hello world");
  EXPECT_EQ(streamed(tokenizer, hello_world), "Hello world");
  // "▁" then "▁Hello": the first space is the dummy prefix's, the second is text.
  const std::vector<int32_t> spaced = {kSpacePiece, kHello};
  EXPECT_EQ(tokenizer.decode(spaced), " Hello");
  EXPECT_EQ(streamed(tokenizer, spaced), " Hello");
}

INSTANTIATE_TEST_SUITE_P(BothPaths, SentencePieceDecode, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& path) {
                           return path.param ? std::string("Gguf") : std::string("ModelFile");
                         });

// Where the two references decode differently, each path follows its own.
TEST(SentencePieceDecode, AfterBosTheLibraryDropsTheSpaceAndLlamaCppKeepsIt) {
  const std::vector<int32_t> ids = {kBos, kHello};
  EXPECT_EQ(mistral_model_tokenizer().decode(ids), "Hello");
  EXPECT_EQ(streamed(mistral_model_tokenizer(), ids), "Hello");
  // llama_detokenize drops a space from the first token only, and <s> is that token.
  EXPECT_EQ(mistral_gguf_tokenizer().decode(ids), " Hello");
  EXPECT_EQ(streamed(mistral_gguf_tokenizer(), ids), " Hello");
  // Control tokens decode to nothing on both.
  const std::vector<int32_t> turn = {kBos, kInst, 1032, kEndInst, kEos};  // 1032: "▁a"
  EXPECT_EQ(mistral_model_tokenizer().decode(turn), "a");
  EXPECT_EQ(mistral_gguf_tokenizer().decode(turn), " a");
}

TEST(SentencePieceDecode, UnknownAndBrokenBytesFollowEachReference) {
  const std::vector<int32_t> unknown = {0};
  EXPECT_EQ(mistral_model_tokenizer().decode(unknown), " \xE2\x81\x87 ");  // " ⁇ "
  EXPECT_EQ(mistral_gguf_tokenizer().decode(unknown), "");
  // The library writes U+FFFD for each byte that is no character; llama.cpp the raw bytes.
  const std::vector<int32_t> broken = {kByte0 + 0xE2, kByte0 + 0x82, kHello};
  EXPECT_EQ(mistral_model_tokenizer().decode(broken), "\xEF\xBF\xBD\xEF\xBF\xBD Hello");
  EXPECT_EQ(mistral_gguf_tokenizer().decode(broken), "\xE2\x82 Hello");
}

}  // namespace
}  // namespace mamba2
