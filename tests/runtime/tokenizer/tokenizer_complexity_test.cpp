// Huge and adversarial inputs finish in near-linear work. BPE work is bounded by counting heap
// operations rather than by timing; the whole-pipeline cases would take hours if any stage were
// quadratic, so they fail by the test timeout.
#include <gtest/gtest.h>

#include "runtime/tokenizer/bpe.h"
#include "runtime/tokenizer/nfc.h"
#include "tests/runtime/tokenizer/tokenizer_test_util.h"

namespace mamba2 {
namespace {

using testing::neox_tokenizer;

constexpr size_t kTwoMegabytes = size_t{2} << 20;

TEST(BpeComplexity, TwoMillionSymbolsTakeALinearNumberOfHeapOperations) {
  // Symbol 0 is 'a'; merge k turns two copies of token k into token k+1 ("a a", "aa aa", ...),
  // so one long word keeps merging for log2(n) rounds.
  BpeMerges merges;
  for (int32_t k = 0; k < 24; ++k) merges.add(k, k, k + 1);
  const std::vector<int32_t> symbols(kTwoMegabytes, 0);

  BpeCounters counters;
  std::vector<int32_t> out;
  bpe_merge(symbols, merges, out, &counters);

  // Every merge removes a symbol and pushes at most two candidates: pushes <= 3n.
  EXPECT_LE(counters.heap_pushes, 3 * symbols.size());
  EXPECT_LE(counters.heap_pops, counters.heap_pushes);
  ASSERT_EQ(out.size(), 1u);  // 2^21 copies of 'a' merge into one token
  EXPECT_EQ(out[0], 21);
}

TEST(BpeComplexity, MergesLeftmostFirstOnTies) {
  BpeMerges merges;
  merges.add(0, 0, 1);  // "a a" -> "aa"
  std::vector<int32_t> out;
  bpe_merge(std::vector<int32_t>{0, 0, 0}, merges, out);
  EXPECT_EQ(out, (std::vector<int32_t>{1, 0}));
}

void expect_round_trip(const std::string& text) {
  const std::vector<int32_t> ids = neox_tokenizer().encode(text);
  EXPECT_FALSE(ids.empty());
  EXPECT_LE(ids.size(), text.size());
  EXPECT_TRUE(neox_tokenizer().decode(ids) == to_nfc(text));
}

std::string repeat(const std::string& unit, size_t bytes) {
  std::string text;
  text.reserve(bytes + unit.size());
  while (text.size() < bytes) text += unit;
  return text;
}

TEST(TokenizerComplexity, OneTwoMegabyteWordOfOneLetter) {
  expect_round_trip(std::string(kTwoMegabytes, 'a'));
}

TEST(TokenizerComplexity, TwoMegabytesOfWhitespaceRuns) {
  expect_round_trip(std::string(kTwoMegabytes, ' '));
  expect_round_trip(std::string(kTwoMegabytes, '\n') + "x");
  expect_round_trip(repeat("\t \r\n", kTwoMegabytes));
  expect_round_trip(repeat("\xE3\x80\x80", kTwoMegabytes) + "end");  // U+3000
}

TEST(TokenizerComplexity, TwoMegabytesOfDigitsPunctuationAndScripts) {
  expect_round_trip(repeat("0123456789", kTwoMegabytes));
  expect_round_trip(repeat("!?.,;", kTwoMegabytes));
  expect_round_trip(repeat("\xF0\x9F\xA6\x99", kTwoMegabytes));  // one emoji repeated
  expect_round_trip(repeat("e\xCC\x81", kTwoMegabytes));         // e + combining acute
}

TEST(TokenizerComplexity, TwoMegabytesOfAlmostSpecialTokens) {
  expect_round_trip(repeat("<|endoftext", kTwoMegabytes));
  expect_round_trip(repeat("<|endoftext|>", kTwoMegabytes));
  expect_round_trip(repeat("'s'", kTwoMegabytes));
}

TEST(TokenizerComplexity, TenMegabytePromptOfText) {
  expect_round_trip(repeat("The quick brown fox jumps over the lazy dog.  It's 42°C!\n", 10 << 20));
}

}  // namespace
}  // namespace mamba2
