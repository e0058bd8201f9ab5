// Arbitrary bytes never crash the tokenizer, always round-trip to their repaired NFC text, and
// one Tokenizer serves several threads at once.
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "runtime/tokenizer/nfc.h"
#include "runtime/tokenizer/utf8.h"
#include "tests/runtime/tokenizer/tokenizer_test_util.h"

namespace mamba2 {
namespace {

using testing::neox_tokenizer;

// Random text from fragments that stress each stage: ill-formed and truncated UTF-8, combining
// marks, pieces of special tokens, space runs, digits, contractions.
std::string random_text(std::mt19937& random) {
  static const std::vector<std::string> fragments = {"a",
                                                     "Z",
                                                     " ",
                                                     "  ",
                                                     "\n",
                                                     "\t",
                                                     "\r\n",
                                                     "'s",
                                                     "'LL",
                                                     "7",
                                                     "\xD9\xA3",
                                                     "<|endoftext|>",
                                                     "<|",
                                                     "|>",
                                                     "<|padding",
                                                     "\xFF",
                                                     "\xC0",
                                                     "\x80",
                                                     "\xE2\x82",
                                                     "\xF0\x9F",
                                                     "\xCC\x81",
                                                     "\xC3\xA9",
                                                     "\xE3\x80\x80",
                                                     "\xC2\x85",
                                                     "\xF0\x9F\xA6\x99",
                                                     "\xE2\x80\x8D",
                                                     "\xEF\xBB\xBF",
                                                     std::string(1, '\0'),
                                                     "!?",
                                                     "\xD0\x96"};
  std::string text;
  const int length = static_cast<int>(random() % 24);
  for (int i = 0; i < length; ++i) text += fragments[random() % fragments.size()];
  return text;
}

TEST(TokenizerRobustness, RandomBytesRoundTripToTheirRepairedNfcText) {
  std::mt19937 random(1234);
  for (int trial = 0; trial < 5000; ++trial) {
    const std::string text = random_text(random);
    const std::vector<int32_t> ids = neox_tokenizer().encode(text);
    for (const int32_t id : ids) ASSERT_TRUE(id >= 0 && id < neox_tokenizer().size());
    ASSERT_EQ(neox_tokenizer().decode(ids), to_nfc(utf8::replace_invalid(text)))
        << "trial " << trial;
  }
}

TEST(TokenizerRobustness, StreamDecodingEqualsWholeDecodingOnValidText) {
  std::mt19937 random(99);
  for (int trial = 0; trial < 2000; ++trial) {
    const std::string text = utf8::replace_invalid(random_text(random));
    TokenStreamDecoder decoder(neox_tokenizer());
    std::string streamed;
    for (const int32_t id : neox_tokenizer().encode(text)) streamed += decoder.push(id);
    streamed += decoder.flush();
    ASSERT_EQ(streamed, to_nfc(text));
  }
}

TEST(TokenizerRobustness, ConcurrentEncodesAgree) {
  std::vector<std::string> texts;
  std::mt19937 random(5);
  for (int i = 0; i < 200; ++i) texts.push_back(random_text(random));
  std::vector<std::vector<int32_t>> expected;
  for (const std::string& text : texts) expected.push_back(neox_tokenizer().encode(text));

  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < mismatches.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        for (size_t i = 0; i < texts.size(); ++i) {
          if (neox_tokenizer().encode(texts[i]) != expected[i]) ++mismatches[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const int count : mismatches) EXPECT_EQ(count, 0);
}

}  // namespace
}  // namespace mamba2
