#include <gtest/gtest.h>

#include "mamba2/error.h"
#include "mamba2/tokenizer.h"
#include "runtime/tokenizer/byte_unicode.h"
#include "runtime/tokenizer/utf8.h"
#include "tests/runtime/tokenizer/tokenizer_test_util.h"

namespace mamba2 {
namespace {

using testing::neox_tokenizer;

// The id of the single-byte token that spells `byte`.
int32_t byte_token(unsigned char byte) {
  std::string text;
  utf8::append(text, byte_to_unicode(byte));
  const auto& tokens = neox_tokenizer().data().tokens;
  for (size_t id = 0; id < tokens.size(); ++id) {
    if (tokens[id] == text) return static_cast<int32_t>(id);
  }
  throw Error("test", "no token for byte " + std::to_string(byte));
}

TEST(TokenStreamDecoder, HoldsBackAnEmojiSplitAcrossTokens) {
  const std::string text = "Hi 🦙🤖 and 👨‍👩‍👧!";
  const std::vector<int32_t> ids = neox_tokenizer().encode(text);
  ASSERT_GT(ids.size(), 6u);

  TokenStreamDecoder decoder(neox_tokenizer());
  std::string streamed;
  int held_back = 0;
  for (const int32_t id : ids) {
    const std::string piece = decoder.push(id);
    EXPECT_TRUE(utf8::is_valid(piece)) << "token " << id;
    if (piece.empty()) ++held_back;
    streamed += piece;
  }
  streamed += decoder.flush();
  EXPECT_EQ(streamed, text);
  EXPECT_GT(held_back, 0) << "expected some emoji to span several tokens";
}

TEST(TokenStreamDecoder, SplitsAFourByteCharacterByteByByte) {
  TokenStreamDecoder decoder(neox_tokenizer());
  EXPECT_EQ(decoder.push(byte_token(0xF0)), "");
  EXPECT_EQ(decoder.push(byte_token(0x9F)), "");
  EXPECT_EQ(decoder.push(byte_token(0xA6)), "");
  EXPECT_EQ(decoder.push(byte_token(0x99)), "🦙");
  EXPECT_EQ(decoder.flush(), "");
}

TEST(TokenStreamDecoder, InvalidBytesBecomeReplacementCharacters) {
  TokenStreamDecoder decoder(neox_tokenizer());
  EXPECT_EQ(decoder.push(byte_token(0x80)), "\xEF\xBF\xBD");  // a lone continuation byte
  EXPECT_EQ(decoder.push(byte_token(0xF0)), "");
  EXPECT_EQ(decoder.push(byte_token(0x9F)), "");
  EXPECT_EQ(decoder.flush(), "\xEF\xBF\xBD");  // one U+FFFD for the unfinished F0 9F
  // A character broken off by an ASCII byte: U+FFFD, then the ASCII text.
  EXPECT_EQ(decoder.push(byte_token(0xE2)), "");
  EXPECT_EQ(decoder.push(neox_tokenizer().encode("x")[0]), "\xEF\xBF\xBDx");
  EXPECT_EQ(decoder.flush(), "");
}

TEST(TokenStreamDecoder, RejectsIdsOutOfRange) {
  TokenStreamDecoder decoder(neox_tokenizer());
  EXPECT_THROW(decoder.push(neox_tokenizer().size()), Error);
  EXPECT_THROW(decoder.push(-1), Error);
}

}  // namespace
}  // namespace mamba2
