// Damaged files: every truncation point and random byte changes in the header must give an Error
// (or, for changes that keep the file valid, a model), never a crash or another exception.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <random>
#include <vector>

#include "mamba2/error.h"
#include "mamba2/random_model.h"
#include "runtime/gguf/gguf_model.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

namespace fs = std::filesystem;

struct ValidFile {
  std::vector<char> bytes;
  size_t header = 0;  // bytes before the tensor data: magic, metadata, tensor table, padding
};

ValidFile valid_model_file() {
  ModelConfig config;
  config.d_model = 32;
  config.n_layer = 1;
  config.vocab_size = 40;
  config.d_state = 16;
  config.headdim = 16;
  config.resolve("fuzz");
  ModelWeights weights = make_random_weights(config, 11);
  TokenizerData tok;
  for (int i = 0; i < 40; ++i) tok.tokens.push_back(std::string(1, static_cast<char>('A' + i)));
  tok.token_types.assign(40, TokenType::kNormal);
  tok.merges = {"A B", "C D"};
  tok.eos_id = 0;
  weights.tokenizer = tok;
  const fs::path path = testing::scratch_dir() / "valid.gguf";
  write_gguf_model(weights, path);
  ValidFile valid;
  std::ifstream in(path, std::ios::binary);
  valid.bytes.assign(std::istreambuf_iterator<char>(in), {});
  valid.header = GgufFile::open(path).data_offset();
  return valid;
}

// Loads `bytes`; true when it loaded, false for an Error; fails the test for anything else.
bool try_load(const std::vector<char>& bytes, const fs::path& path) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  try {
    load_gguf_model(path);
    return true;
  } catch (const Error&) {
    return false;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a mamba2::Error: " << e.what();
    return false;
  }
}

TEST(GgufFuzz, EveryTruncationIsAnError) {
  const ValidFile valid = valid_model_file();
  const fs::path path = testing::scratch_dir() / "cut.gguf";
  ASSERT_TRUE(try_load(valid.bytes, path));
  // Every cut in the first bytes, then strides through the metadata, tensor table and data.
  for (size_t cut = 0; cut < valid.bytes.size();
       cut += cut < 128 ? 1 : (cut < valid.header ? 7 : 397)) {
    const std::vector<char> truncated(valid.bytes.begin(),
                                      valid.bytes.begin() + static_cast<long>(cut));
    EXPECT_FALSE(try_load(truncated, path)) << "cut at " << cut;
  }
}

TEST(GgufFuzz, RandomHeaderDamageNeverCrashes) {
  const ValidFile valid = valid_model_file();
  const size_t header = valid.header;
  const fs::path path = testing::scratch_dir() / "damaged.gguf";
  std::mt19937 rng(1234);
  int rejected = 0;
  for (int round = 0; round < 500; ++round) {
    std::vector<char> damaged = valid.bytes;
    const int changes = 1 + static_cast<int>(rng() % 4);
    for (int c = 0; c < changes; ++c) {
      const size_t at = rng() % header;
      // Mostly small numbers and all-ones, which make counts and lengths absurd.
      const uint32_t kind = rng() % 3;
      damaged[at] = kind == 0 ? static_cast<char>(0xFF) : static_cast<char>(rng() % 256);
    }
    rejected += try_load(damaged, path) ? 0 : 1;
  }
  EXPECT_GT(rejected, 50);  // the damage mostly lands somewhere that matters
}

}  // namespace
}  // namespace mamba2
