// load_tokenizer_file tells the three kinds of file apart by their bytes, whatever their names;
// load_tokenizer_directory finds a checkpoint's tokenizer and its chat template.
#include "mamba2/tokenizer_file.h"

#include <gtest/gtest.h>

#include <fstream>

#include "mamba2/error.h"
#include "mamba2/tokenizer.h"
#include "tests/runtime/tokenizer/tokenizer_test_util.h"
#include "tests/support/file_bytes.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

namespace fs = std::filesystem;

fs::path linked(const fs::path& dir, const std::string& name, const fs::path& target) {
  fs::create_directories(dir);
  fs::create_symlink(fs::absolute(target), dir / name);
  return dir / name;
}

TEST(TokenizerFile, TellsTheKindsApartByTheirBytes) {
  const fs::path dir = testing::scratch_dir();
  EXPECT_EQ(load_tokenizer_file(linked(dir, "a", testing::neox_tokenizer_path())).model, "gpt2");
  const TokenizerData model = load_tokenizer_file(linked(dir, "b", testing::mistral_model_path()));
  EXPECT_EQ(model.model, "llama");
  EXPECT_FALSE(model.sentencepiece_model.empty());
  const TokenizerData gguf = load_tokenizer_file(linked(dir, "c", testing::mistral_gguf_path()));
  EXPECT_EQ(gguf.model, "llama");
  EXPECT_TRUE(gguf.sentencepiece_model.empty());
  EXPECT_EQ(gguf.tokens, model.tokens);
  EXPECT_EQ(gguf.scores, model.scores);
  EXPECT_EQ(gguf.token_types, model.token_types);
}

TEST(TokenizerFile, ModelFileIsReadAsTheConverterReadsIt) {
  const TokenizerData& data = testing::mistral_model_tokenizer().data();
  ASSERT_EQ(data.tokens.size(), 32768u);
  EXPECT_EQ(data.tokens[3], "[INST]");
  EXPECT_EQ(data.token_types[3], TokenType::kControl);
  EXPECT_EQ(data.token_types[767], TokenType::kNormal);  // [REFERENCE_DOC_3], USER_DEFINED
  EXPECT_EQ(data.token_types[771], TokenType::kByte);
  EXPECT_EQ(data.scores[1027], -1e9f);  // ▁▁, a whitespace-only piece
  EXPECT_EQ(data.scores[1028], -1e9f);
  EXPECT_EQ(data.scores[1029], -2.0f);
  EXPECT_EQ(data.bos_id, 1);
  EXPECT_EQ(data.eos_id, 2);
  EXPECT_EQ(data.unk_id, 0);
  EXPECT_EQ(data.pad_id, -1);
  EXPECT_EQ(data.add_bos, true);
  EXPECT_EQ(data.add_eos, false);
  EXPECT_EQ(testing::mistral_model_tokenizer().control_id("[/INST]"), 4);
  EXPECT_EQ(testing::mistral_model_tokenizer().control_id("[REFERENCE_DOC_3]"), -1);
}

TEST(TokenizerFile, DirectoryGivesItsTokenizerAndChatTemplate) {
  const fs::path dir = testing::scratch_dir() / "codestral";
  EXPECT_FALSE(load_tokenizer_directory(testing::scratch_dir()));
  linked(dir, "tokenizer.model.v3", testing::mistral_model_path());
  std::optional<TokenizerData> data = load_tokenizer_directory(dir);
  ASSERT_TRUE(data);
  EXPECT_EQ(data->model, "llama");
  EXPECT_EQ(data->chat_template, "");
  std::ofstream(dir / "tokenizer_config.json") << R"({"chat_template": "{{ '[INST]' }}"})";
  EXPECT_EQ(load_tokenizer_directory(dir)->chat_template, "{{ '[INST]' }}");
  std::ofstream(dir / "tokenizer_config.json")
      << R"({"chat_template": [{"name": "tool_use", "template": "t"},
                               {"name": "default", "template": "d"}]})";
  EXPECT_EQ(load_tokenizer_directory(dir)->chat_template, "d");
  std::ofstream(dir / "tokenizer_config.json") << "{";
  EXPECT_THROW(load_tokenizer_directory(dir), Error);
}

// Anything else is one clear line naming the file.
TEST(TokenizerFile, ForeignAndBrokenFilesAreOneClearError) {
  const fs::path dir = testing::scratch_dir();
  const auto error_of = [&](const std::string& name, const std::string& bytes) {
    std::ofstream(dir / name, std::ios::binary) << bytes;
    try {
      load_tokenizer_file(dir / name);
    } catch (const Error& error) {
      return std::string(error.what());
    }
    return std::string();
  };
  const std::string model = testing::read_bytes(testing::mistral_model_path());
  EXPECT_NE(error_of("notes.txt", "hello").find("is not a tokenizer.json, a SentencePiece"),
            std::string::npos);
  EXPECT_NE(error_of("empty", "").find("is not a tokenizer.json"), std::string::npos);
  EXPECT_NE(error_of("half.model", model.substr(0, model.size() / 2)).find("is truncated: field 1"),
            std::string::npos);
  // Cut right after a whole piece: the protobuf still parses, but the specs are missing.
  const size_t second_piece = 2 + static_cast<unsigned char>(model[1]);
  EXPECT_NE(error_of("one-piece.model", model.substr(0, second_piece)).find("has no trainer_spec"),
            std::string::npos);
  EXPECT_NE(error_of("wire.model", "\x0A\x02hi\x0F").find("has wire type 7"), std::string::npos);
  try {
    load_tokenizer_file(dir / "no-such.model");
    ADD_FAILURE();
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("no-such.model: cannot read: No such file"),
              std::string::npos);
  }
  // A wire format that walks, with the pieces and specs as empty messages: the library refuses.
  const std::string hollow("\x0A\x00\x12\x00\x1A\x00", 6);
  EXPECT_NE(error_of("hollow.model", hollow).find("the SentencePiece library cannot load it"),
            std::string::npos);
}

}  // namespace
}  // namespace mamba2
