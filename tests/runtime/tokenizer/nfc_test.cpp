// NFC against utf8proc's own NFC, and on the input that made utf8proc's insertion-sort
// canonical ordering quadratic: one letter followed by a megabyte of combining marks.
#include "runtime/tokenizer/nfc.h"

#include <gtest/gtest.h>
#include <utf8proc.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace mamba2 {
namespace {

std::string utf8proc_nfc(const std::string& text) {
  utf8proc_uint8_t* mapped = nullptr;
  const utf8proc_ssize_t length =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                   static_cast<utf8proc_ssize_t>(text.size()), &mapped,
                   static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  EXPECT_GE(length, 0);
  std::string out(reinterpret_cast<const char*>(mapped), static_cast<size_t>(length));
  std::free(mapped);
  return out;
}

std::string repeat(const std::string& piece, size_t times) {
  std::string out;
  out.reserve(piece.size() * times);
  for (size_t i = 0; i < times; ++i) out += piece;
  return out;
}

TEST(NfcOrdering, AMegabyteOfCombiningMarksIsSortedNotQuadratic) {
  // e + (U+0301 acute [class 230], U+0327 cedilla [class 202]) * n: the cedillas sort first,
  // the first composes with e to U+0229, and the acutes stay (no e-cedilla-acute exists).
  constexpr size_t n = 250'000;  // 1 MB of marks
  const std::string acute = "\xCC\x81";
  const std::string cedilla = "\xCC\xA7";
  std::string text = "e";
  text += repeat(acute + cedilla, n);
  std::string expected = "\xC8\xA9";  // U+0229
  expected += repeat(cedilla, n - 1);
  expected += repeat(acute, n);
  EXPECT_EQ(to_nfc(text), expected);
}

TEST(NfcOrdering, AgreesWithUtf8procOnRunsOfMixedMarks) {
  // Starters, marks of several classes (220, 230, 202, 240, 7, 9), jamo, and precomposed
  // letters that decompose into a starter and marks.
  const std::vector<std::string> alphabet = {"a",
                                             "e",
                                             "o",
                                             " ",
                                             "\xC3\xA9",
                                             "\xCC\x81",
                                             "\xCC\xA3",
                                             "\xCC\xA7",
                                             "\xCD\x85",
                                             "\xCC\x88",
                                             "\xCC\x84",
                                             "\xE0\xA4\xBC",
                                             "\xE0\xA5\x8D",
                                             "\xE1\x84\x80",
                                             "\xE1\x85\xA1",
                                             "\xE1\x86\xA8",
                                             "\xE1\xBE\x82",
                                             "\xC7\x95",
                                             "\xE2\x84\xAB",
                                             "\xE0\xA4\xA8"};
  std::mt19937 random(11);
  for (int trial = 0; trial < 4000; ++trial) {
    std::string text;
    const int length = static_cast<int>(random() % 40);
    for (int i = 0; i < length; ++i) text += alphabet[random() % alphabet.size()];
    ASSERT_EQ(to_nfc(text), utf8proc_nfc(text)) << text;
  }
}

}  // namespace
}  // namespace mamba2
