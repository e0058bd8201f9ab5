// The model scripts/chat.sh starts on: it must stay loadable, small, and as good as
// models/README.md says, whatever changes in the engine or the file formats.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "mamba2/model_loader.h"
#include "mamba2/perplexity.h"
#include "mamba2/session.h"
#include "mamba2/tokenizer.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

const std::filesystem::path kDefaultModel = MAMBA2_DEFAULT_MODEL;

std::string read_prefix(const std::filesystem::path& path, size_t bytes) {
  std::ifstream in(path, std::ios::binary);
  std::string text(bytes, '\0');
  in.read(text.data(), static_cast<std::streamsize>(bytes));
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

TEST(DefaultModel, IsASmallQuantizedByteLevelModel) {
  EXPECT_LE(std::filesystem::file_size(kDefaultModel), 16u << 20);
  const ModelWeights weights = load_model_weights(kDefaultModel);
  ASSERT_TRUE(weights.tokenizer.has_value());
  EXPECT_EQ(weights.config.vocab_size, 256);
  EXPECT_EQ(weights.layers.at(0).in_proj.dtype, DType::kQ8_0);
  EXPECT_EQ(weights.layers.at(0).out_proj.dtype, DType::kQ8_0);
}

TEST(DefaultModel, HeldOutBitsPerByteMeetTheTarget) {
  const auto model = load_model(kDefaultModel);
  const Tokenizer tokenizer(*model->weights().tokenizer);
  const std::string text = read_prefix(
      testing::data_dir() / "corpus/tinystories/tinystories-hf-validation-head.txt", 16384);
  ASSERT_EQ(text.size(), 16384u);
  const auto tokens = tokenizer.encode(text);
  ASSERT_EQ(tokens.size(), text.size());  // one token per byte
  Session session(model);
  const auto result = measure_perplexity(session, tokens, static_cast<int64_t>(text.size()) - 1);
  // models/README.md: 1.21 bits per byte on the whole file; the target is 1.5.
  EXPECT_LT(result.bits_per_byte, 1.5);
  EXPECT_GT(result.bits_per_byte, 0.5);  // far below would mean the text leaked into training
}

std::set<std::string> words_of(const std::string& text) {
  std::set<std::string> words;
  std::string word;
  for (const char c : text + " ") {
    if (std::isalpha(static_cast<unsigned char>(c))) {
      word += c;
    } else if (!word.empty()) {
      words.insert(word);
      word.clear();
    }
  }
  return words;
}

TEST(DefaultModel, ContinuesAStoryInEnglishWords) {
  const auto model = load_model(kDefaultModel);
  const Tokenizer tokenizer(*model->weights().tokenizer);
  Session session(model);
  auto logits = session.prefill(tokenizer.encode("Once upon a time"));
  std::vector<int32_t> reply;
  for (int i = 0; i < 300; ++i) {
    const auto best = std::max_element(logits.begin(), logits.end()) - logits.begin();
    reply.push_back(static_cast<int32_t>(best));
    logits = session.decode(reply.back());
  }
  const std::string text = tokenizer.decode(reply);
  EXPECT_EQ(text.substr(0, 11), ", there was") << text;

  // Every word it writes is a word of the training stories (the last one may be cut off).
  const auto known = words_of(read_prefix(
      testing::data_dir() / "corpus/tinystories/tinystories-hf-train-first1000.txt", 1u << 20));
  const auto written = words_of(text.substr(0, text.find_last_of(" .,!?\n")));
  EXPECT_GE(written.size(), 20u) << text;
  for (const auto& word : written) EXPECT_TRUE(known.count(word)) << word << " in: " << text;
}

}  // namespace
}  // namespace mamba2
