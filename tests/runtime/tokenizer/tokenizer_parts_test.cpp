// The small pieces: UTF-8 decoding, the GPT-2 byte map, added-token matching, pre-tokenization.
#include <gtest/gtest.h>
#include <utf8proc.h>

#include <cstdlib>
#include <random>

#include "runtime/tokenizer/added_token_matcher.h"
#include "runtime/tokenizer/byte_unicode.h"
#include "runtime/tokenizer/nfc.h"
#include "runtime/tokenizer/pretokenizer.h"
#include "runtime/tokenizer/utf8.h"

namespace mamba2 {
namespace {

TEST(Utf8, DecodesAndRejectsLikeTheStandard) {
  EXPECT_TRUE(utf8::is_valid("h\xC3\xA9llo \xF0\x9F\xA6\x99"));
  EXPECT_FALSE(utf8::is_valid("\xC0\x80"));          // overlong
  EXPECT_FALSE(utf8::is_valid("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(utf8::is_valid("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(utf8::is_valid("\xE2\x82"));          // truncated
  EXPECT_EQ(utf8::decode_one("\xE2\x82").status, utf8::Status::kIncomplete);
  // Maximal subparts: "F0 9F" is one error, then "A" is fine.
  EXPECT_EQ(utf8::replace_invalid("\xF0\x9F"
                                  "A\xFF"),
            "\xEF\xBF\xBD"
            "A\xEF\xBF\xBD");
  EXPECT_EQ(utf8::replace_invalid(std::string("a\0b", 3)), std::string("a\0b", 3));
}

TEST(ByteUnicode, IsGpt2sMap) {
  EXPECT_EQ(byte_to_unicode(' '), U'\u0120');
  EXPECT_EQ(byte_to_unicode('\n'), U'\u010A');
  EXPECT_EQ(byte_to_unicode('A'), U'A');
  EXPECT_EQ(byte_to_unicode(0xAD), U'\u0143');
  for (unsigned byte = 0; byte < 256; ++byte) {
    const auto back = unicode_to_byte(byte_to_unicode(static_cast<unsigned char>(byte)));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, byte);
  }
  EXPECT_EQ(bytes_to_token_text("Hi there\n"), "Hi\xC4\xA0there\xC4\x8A");
  EXPECT_EQ(token_text_to_bytes("\xC4\xA0world"), " world");
  EXPECT_FALSE(token_text_to_bytes("  ").has_value());  // a raw space is outside the map
}

TEST(AddedTokenMatcher, MatchesLeftmostLongest) {
  AddedTokenMatcher matcher;
  matcher.add("  ", 2);
  matcher.add("   ", 3);
  matcher.add("    ", 4);
  const auto pieces = matcher.split("a       b");  // 7 spaces: 4 + 3
  ASSERT_EQ(pieces.size(), 4u);
  EXPECT_EQ(pieces[0].text, "a");
  EXPECT_EQ(pieces[1].token_id, 4);
  EXPECT_EQ(pieces[2].token_id, 3);
  EXPECT_EQ(pieces[3].text, "b");
  EXPECT_EQ(matcher.split(" x ").size(), 1u);
}

TEST(Gpt2PreTokenizer, SplitsLikeTheGpt2Regex) {
  const Gpt2PreTokenizer pretokenizer;
  using Pieces = std::vector<std::string_view>;
  EXPECT_EQ(pretokenizer.split("Hello world's 123 !!  \n x"),
            (Pieces{"Hello", " world", "'s", " 123", " !!", "  \n", " x"}));
  // Contractions are lowercase only.
  EXPECT_EQ(pretokenizer.split("I'M  a"), (Pieces{"I", "'", "M", " ", " a"}));
  // NEL (U+0085) and U+3000 are whitespace, as in Oniguruma and Rust.
  EXPECT_EQ(pretokenizer.split("a\xC2\x85"
                               "b"),
            (Pieces{"a", "\xC2\x85", "b"}));
  EXPECT_EQ(pretokenizer.split("a\xE3\x80\x80\xE3\x80\x80"
                               "b"),
            (Pieces{"a", "\xE3\x80\x80", "\xE3\x80\x80", "b"}));
  EXPECT_TRUE(pretokenizer.split("").empty());
}

TEST(Nfc, ComposesAndKeepsNulBytes) {
  EXPECT_EQ(to_nfc("e\xCC\x81"), "\xC3\xA9");
  EXPECT_EQ(to_nfc(std::string("a\0e\xCC\x81", 5)), std::string("a\0\xC3\xA9", 4));
  EXPECT_EQ(to_nfc("plain"), "plain");
  EXPECT_EQ(to_nfc("\xE1\x84\x80\xE1\x85\xA1"), "\xEA\xB0\x80");  // Hangul jamo -> U+AC00
}

// to_nfc normalizes only the stretches around characters from U+0300 on; it must agree with
// utf8proc over the whole text on mixes of ASCII, marks, jamo and precomposed letters.
TEST(Nfc, SegmentedNormalizationEqualsWholeText) {
  const std::vector<std::string> alphabet = {"a",
                                             "e",
                                             " ",
                                             "\n",
                                             "\xC3\xA9",
                                             "\xCC\x81",
                                             "\xCC\xA3",
                                             "\xCC\x82",
                                             "\xCD\x85",
                                             "\xE1\x84\x80",
                                             "\xE1\x85\xA1",
                                             "\xE1\x86\xA8",
                                             "\xE2\x80\x9C",
                                             "\xE2\x84\xAB",
                                             "\xEF\xAC\x81",
                                             "\xF0\x9F\xA6\x99",
                                             "\xE0\xA4\xA8",
                                             "\xE0\xA4\xBC",
                                             "A",
                                             "\xC3\x85"};
  std::mt19937 random(7);
  for (int trial = 0; trial < 3000; ++trial) {
    std::string text;
    const int length = static_cast<int>(random() % 12);
    for (int i = 0; i < length; ++i) text += alphabet[random() % alphabet.size()];
    utf8proc_uint8_t* whole = utf8proc_NFC(reinterpret_cast<const utf8proc_uint8_t*>(text.c_str()));
    ASSERT_NE(whole, nullptr);
    const std::string expected(reinterpret_cast<const char*>(whole));
    std::free(whole);
    ASSERT_EQ(to_nfc(text), expected) << text;
  }
}

}  // namespace
}  // namespace mamba2
