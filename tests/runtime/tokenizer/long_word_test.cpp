// A pre-token longer than a megabyte is merged in megabyte pieces cut between characters, so
// BPE memory stays bounded; the text still round-trips.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/runtime/tokenizer/tokenizer_test_util.h"

namespace mamba2 {
namespace {

using testing::neox_tokenizer;

constexpr size_t kMegabyte = size_t{1} << 20;

std::vector<int32_t> concat(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  std::vector<int32_t> out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

TEST(LongWords, AreMergedInMegabytePieces) {
  const Tokenizer& tokenizer = neox_tokenizer();
  const std::string piece(kMegabyte, 'a');
  const std::string rest(1000, 'a');
  const std::vector<int32_t> ids = tokenizer.encode(piece + piece + rest);
  const std::vector<int32_t> one = tokenizer.encode(piece);
  EXPECT_EQ(ids, concat(concat(one, one), tokenizer.encode(rest)));
  EXPECT_EQ(tokenizer.decode(ids), piece + piece + rest);
}

TEST(LongWords, AreCutBetweenCharactersNotInsideOne) {
  const Tokenizer& tokenizer = neox_tokenizer();
  // U+00E9 is two bytes; after one 'x' every even offset is inside a character, including
  // the megabyte mark, so the cut moves back one byte to the character boundary.
  std::string text = "x";
  while (text.size() < 2 * kMegabyte) text += "\xC3\xA9";
  const std::vector<int32_t> ids = tokenizer.encode(text);
  EXPECT_EQ(tokenizer.decode(ids), text);
  const std::vector<int32_t> head = tokenizer.encode(text.substr(0, kMegabyte - 1));
  ASSERT_GE(ids.size(), head.size());
  EXPECT_EQ(std::vector<int32_t>(ids.begin(), ids.begin() + static_cast<long>(head.size())), head);
}

}  // namespace
}  // namespace mamba2
