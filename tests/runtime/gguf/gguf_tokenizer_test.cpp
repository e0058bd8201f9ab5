// SentencePiece vocabularies in GGUF files: what we write from a .model file is what llama.cpp's
// converter wrote into shared/data/mistral-v3-vocab.gguf, it reads back into llama.cpp's ids,
// and a vocabulary that llama.cpp's algorithm cannot use exactly is refused with one clear line.
#include "runtime/gguf/gguf_tokenizer.h"

#include <gtest/gtest.h>

#include "mamba2/error.h"
#include "mamba2/random_model.h"
#include "mamba2/tokenizer.h"
#include "mamba2/tokenizer_file.h"
#include "runtime/gguf/gguf_model.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

namespace fs = std::filesystem;

// A tiny model with Mamba-Codestral's vocabulary size (32768, a multiple of 16: no padding).
ModelWeights tiny_model(int64_t vocab_size) {
  ModelConfig c;
  c.d_model = 16;
  c.n_layer = 1;
  c.vocab_size = vocab_size;
  c.pad_vocab_size_multiple = 16;
  c.d_state = 16;
  c.headdim = 16;
  c.ngroups = 1;
  c.chunk_size = 16;
  c.resolve("test");
  return make_random_weights(c, 3);
}

fs::path mistral_model() { return testing::data_dir() / "mistral-v3-tokenizer.model"; }

TEST(GgufTokenizer, ModelFileVocabularyIsWrittenAsLlamaCppConverts) {
  ModelWeights weights = tiny_model(32768);
  weights.tokenizer = load_sentencepiece_model(mistral_model());
  const fs::path path = testing::scratch_dir() / "codestral-vocab.gguf";
  write_gguf_model(weights, path);

  const GgufFile ours = GgufFile::open(path);
  const GgufFile reference = GgufFile::open(testing::data_dir() / "mistral-v3-vocab.gguf");
  for (const char* key : {"tokenizer.ggml.model", "tokenizer.ggml.pre"}) {
    EXPECT_EQ(ours.get_string(key), reference.get_string(key)) << key;
  }
  const auto tokens = ours.find_string_array("tokenizer.ggml.tokens");
  const auto reference_tokens = reference.find_string_array("tokenizer.ggml.tokens");
  ASSERT_TRUE(tokens && reference_tokens);
  ASSERT_EQ(tokens->size(), 32768u);
  EXPECT_TRUE(std::equal(tokens->begin(), tokens->end(), reference_tokens->begin(),
                         reference_tokens->end()));
  EXPECT_EQ(ours.find_float_array("tokenizer.ggml.scores"),
            reference.find_float_array("tokenizer.ggml.scores"));
  EXPECT_EQ(ours.find_int_array("tokenizer.ggml.token_type"),
            reference.find_int_array("tokenizer.ggml.token_type"));
  EXPECT_EQ(ours.find("tokenizer.ggml.scores")->element_type, GgufType::kFloat32);
  EXPECT_EQ(ours.find("tokenizer.ggml.token_type")->element_type, GgufType::kInt32);
  for (const char* key : {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                          "tokenizer.ggml.unknown_token_id"}) {
    EXPECT_EQ(ours.find(key)->type, GgufType::kUint32) << key;
    EXPECT_EQ(ours.find_int(key), reference.find_int(key)) << key;
  }
  for (const char* key : {"tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token"}) {
    EXPECT_EQ(ours.find_bool(key), reference.find_bool(key)) << key;
  }
  for (const char* key : {"tokenizer.ggml.padding_token_id", "tokenizer.ggml.merges",
                          "tokenizer.ggml.add_space_prefix"}) {
    EXPECT_EQ(ours.find(key), nullptr) << key;
    EXPECT_EQ(reference.find(key), nullptr) << key;
  }
}

// Written, the vocabulary no longer carries the .model file: it reads back as llama.cpp's.
TEST(GgufTokenizer, WrittenVocabularyTokenizesAsLlamaCpp) {
  ModelWeights weights = tiny_model(32768);
  weights.tokenizer = load_sentencepiece_model(mistral_model());
  const fs::path path = testing::scratch_dir() / "codestral-roundtrip.gguf";
  write_gguf_model(weights, path);
  const ModelWeights loaded = load_gguf_model(path);
  ASSERT_TRUE(loaded.tokenizer);
  EXPECT_TRUE(loaded.tokenizer->sentencepiece_model.empty());
  const Tokenizer ours(*loaded.tokenizer, path.string());
  const Tokenizer reference(load_tokenizer_file(testing::data_dir() / "mistral-v3-vocab.gguf"));
  for (const char* text : {"Hello world", "[REFERENCE_DOC_3] is a user-defined piece",
                           "  leading two spaces", "2024-05-30 \xF0\x9F\xA6\x99\n\tx"}) {
    EXPECT_EQ(ours.encode(text), reference.encode(text)) << text;
  }
}

TEST(GgufTokenizer, SentencePieceVocabularyIsPaddedAsTheConverterPadsIt) {
  ModelWeights weights = tiny_model(100);  // 112 embedding rows
  TokenizerData tok;
  tok.model = "llama";
  tok.pre = "default";
  tok.tokens = {"<unk>", "<s>", "</s>"};
  tok.token_types = {TokenType::kUnknown, TokenType::kControl, TokenType::kControl};
  tok.scores = {0, 0, 0};
  for (int i = 3; i < 100; ++i) {
    tok.tokens.push_back("\xE2\x96\x81w" + std::to_string(i));
    tok.token_types.push_back(TokenType::kNormal);
    tok.scores.push_back(static_cast<float>(-i));
  }
  tok.unk_id = 0;
  tok.bos_id = 1;
  tok.eos_id = 2;
  tok.chat_template = "{{ bos_token }}[INST]";
  weights.tokenizer = tok;
  const fs::path path = testing::scratch_dir() / "padded-spm.gguf";
  write_gguf_model(weights, path);
  const std::optional<TokenizerData> read = read_gguf_tokenizer(GgufFile::open(path));
  ASSERT_TRUE(read);
  ASSERT_EQ(read->tokens.size(), 112u);
  EXPECT_EQ(read->tokens[111], "[PAD111]");
  EXPECT_EQ(read->token_types[111], TokenType::kUnused);
  EXPECT_EQ(read->scores[111], -1000.0f);
  EXPECT_EQ(read->scores[42], -42.0f);
  EXPECT_EQ(read->chat_template, "{{ bos_token }}[INST]");  // tokenizer.chat_template
}

// A vocabulary-only GGUF file with SentencePiece keys, changed by `edit` before it is written.
fs::path vocab_file(const std::string& name, const std::function<void(TokenizerData&)>& edit,
                    bool with_scores = true) {
  TokenizerData tok;
  tok.model = "llama";
  tok.tokens = {"<unk>",
                "<s>",
                "</s>",
                "<0x0A>",
                "\xE2\x96\x81"
                "a",
                "a"};
  tok.token_types = {TokenType::kUnknown, TokenType::kControl, TokenType::kControl,
                     TokenType::kByte,    TokenType::kNormal,  TokenType::kNormal};
  tok.scores = {0, 0, 0, 0, -1, -2};
  tok.unk_id = 0;
  tok.bos_id = 1;
  tok.eos_id = 2;
  edit(tok);
  GgufWriter out;
  out.add_string("general.architecture", "mamba2");
  out.add_string("tokenizer.ggml.model", tok.model);
  out.add_string_array("tokenizer.ggml.tokens", tok.tokens);
  if (with_scores) out.add_float32_array("tokenizer.ggml.scores", tok.scores);
  std::vector<int32_t> types;
  for (TokenType type : tok.token_types) types.push_back(static_cast<int32_t>(type));
  out.add_int32_array("tokenizer.ggml.token_type", types);
  out.add_uint32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(tok.bos_id));
  const fs::path path = testing::scratch_dir() / name;
  out.write(path);
  return path;
}

std::string load_error(const fs::path& path) {
  try {
    load_tokenizer_file(path);
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

TEST(GgufTokenizer, GoodVocabularyFileLoads) {
  const Tokenizer tokenizer(load_tokenizer_file(vocab_file("good.gguf", [](TokenizerData&) {})));
  EXPECT_EQ(tokenizer.encode("a\na"), (std::vector<int32_t>{4, 3, 5}));
}

TEST(GgufTokenizer, BadVocabulariesAreOneClearError) {
  const auto expect_error = [](const fs::path& path, const std::string& part) {
    const std::string message = load_error(path);
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
    EXPECT_NE(message.find(part), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  };
  expect_error(vocab_file(
                   "no-scores.gguf", [](TokenizerData&) {}, false),
               "tokenizer.ggml.scores is missing");
  expect_error(vocab_file("short-scores.gguf", [](TokenizerData& t) { t.scores.pop_back(); }),
               "tokenizer.ggml.scores has 5 entries for 6 tokens");
  expect_error(vocab_file("bos-out-of-range.gguf", [](TokenizerData& t) { t.bos_id = 6; }),
               "tokenizer.ggml.bos_token_id is 6, outside the 6 tokens");
  expect_error(vocab_file("bad-byte.gguf", [](TokenizerData& t) { t.tokens[3] = "<0xZZ>"; }),
               "token 3 is a byte token but reads '<0xZZ>'");
  expect_error(vocab_file("duplicate.gguf", [](TokenizerData& t) { t.tokens[5] = "<s>"; }),
               "token 5 '<s>' repeats token 1");
  expect_error(vocab_file("other-model.gguf", [](TokenizerData& t) { t.model = "t5"; }),
               "tokenizer model 't5' is not supported");
}

}  // namespace
}  // namespace mamba2
