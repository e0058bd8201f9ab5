// Runs the real mamba2-tokenize binary (path from the build: MAMBA2_TOKENIZE_BIN) on the shared
// test vectors, with the text piped in and the ids read back from its stdout.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "mamba2/random_model.h"
#include "mamba2/tokenizer.h"
#include "runtime/gguf/gguf_model.h"
#include "tests/runtime/tokenizer/tokenizer_test_util.h"
#include "tests/support/file_bytes.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

using testing::read_bytes;

struct RunResult {
  int exit_code;
  std::string out;
  std::string err;
};

// For the shell; test paths hold no single quotes.
std::string quoted(const std::filesystem::path& path) {
  std::string text = "'";
  text += path.string();
  text += '\'';
  return text;
}

// Runs mamba2-tokenize with `args`, feeding `input` on stdin.
RunResult run_tokenize(const std::string& args, const std::string& input) {
  const auto dir = testing::scratch_dir();
  std::ofstream(dir / "in", std::ios::binary) << input;
  const std::string command = quoted(MAMBA2_TOKENIZE_BIN) + " " + args + " < " +
                              quoted(dir / "in") + " > " + quoted(dir / "out") + " 2> " +
                              quoted(dir / "err");
  const int status = std::system(command.c_str());
  const int exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return {exit_code, read_bytes(dir / "out"), read_bytes(dir / "err")};
}

std::string id_line(const std::vector<int32_t>& ids) {
  std::string line;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) line += ' ';
    line += std::to_string(ids[i]);
  }
  return line + "\n";
}

std::string tokenizer_flag() { return "--tokenizer " + quoted(testing::neox_tokenizer_path()); }

TEST(TokenizeApp, PrintsTheIdsOfEveryLlamaCppVectorFromAPipe) {
  for (const testing::TokenizerCase& c : testing::read_vector_set("llamacpp-neox")) {
    const RunResult result = run_tokenize(tokenizer_flag(), c.text);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, id_line(c.ids));
    EXPECT_EQ(result.err, "");
  }
}

TEST(TokenizeApp, ReadsAFileAndAModelDirectory) {
  const testing::TokenizerCase c = testing::read_vector_set("extra-neox").at(0);
  const auto dir = testing::scratch_dir();
  std::ofstream(dir / "prompt.txt", std::ios::binary) << c.text;
  const RunResult from_file =
      run_tokenize(tokenizer_flag() + " --file " + quoted(dir / "prompt.txt"), "ignored");
  EXPECT_EQ(from_file.exit_code, 0) << from_file.err;
  EXPECT_EQ(from_file.out, id_line(c.ids));

  std::filesystem::create_directory(dir / "model");
  std::filesystem::create_symlink(std::filesystem::absolute(testing::neox_tokenizer_path()),
                                  dir / "model" / "tokenizer.json");
  const RunResult from_model = run_tokenize(quoted(dir / "model"), c.text);
  EXPECT_EQ(from_model.exit_code, 0) << from_model.err;
  EXPECT_EQ(from_model.out, id_line(c.ids));
}

// A GGUF model carries the vocabulary in its tokenizer.ggml.* keys; the ids must not change.
TEST(TokenizeApp, ReadsTheTokenizerOfAGgufModel) {
  ModelConfig config;  // tiny, but with an embedding row for each of the 50277 NeoX ids
  config.d_model = 16;
  config.n_layer = 1;
  config.vocab_size = 50277;
  config.pad_vocab_size_multiple = 16;
  config.d_state = 16;
  config.headdim = 16;
  config.resolve("test");
  ModelWeights weights = make_random_weights(config, 5);
  weights.tokenizer = load_tokenizer_json(testing::neox_tokenizer_path());
  const auto model = testing::scratch_dir() / "neox.gguf";
  write_gguf_model(weights, model);

  for (const testing::TokenizerCase& c : testing::read_vector_set("extra-neox")) {
    const RunResult result = run_tokenize(quoted(model), c.text);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, id_line(c.ids));
  }
}

std::string mistral_flag(bool gguf) {
  return "--tokenizer " +
         quoted(gguf ? testing::mistral_gguf_path() : testing::mistral_model_path());
}

// Mistral's SentencePiece tokenizer, both ways: the .model file (the library's ids) and the
// vocabulary GGUF (llama.cpp's ids, with --special as llama-tokenize's default).
TEST(TokenizeApp, TakesASentencePieceModelAndAVocabularyGguf) {
  // Every fourth case: the unit tests run them all, this checks what the tool adds.
  const auto model = testing::read_vector_set("mistral-v3");
  for (size_t i = 0; i < model.size(); i += 4) {
    const RunResult result = run_tokenize(mistral_flag(false), model[i].text);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, id_line(model[i].ids));
  }
  const auto gguf = testing::read_vector_set("mistral-v3-gguf");
  const auto special = testing::read_vector_set("mistral-v3-gguf-special");
  for (size_t i = 0; i < gguf.size(); i += 8) {
    EXPECT_EQ(run_tokenize(mistral_flag(true), gguf[i].text).out, id_line(gguf[i].ids));
    EXPECT_EQ(run_tokenize(mistral_flag(true) + " --special", special[i].text).out,
              id_line(special[i].ids));
  }
}

TEST(TokenizeApp, FindsTokenizerModelV3BesideACheckpoint) {
  const auto dir = testing::scratch_dir() / "codestral";
  std::filesystem::create_directory(dir);
  std::filesystem::create_symlink(std::filesystem::absolute(testing::mistral_model_path()),
                                  dir / "tokenizer.model.v3");
  const RunResult result = run_tokenize(quoted(dir), "Hello world");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "23325 2294\n");
}

// --chat prints mistral-common's prompt ids for every conversation of chat-tests/.
TEST(TokenizeApp, ChatPrintsThePromptOfAConversation) {
  const auto path = testing::data_dir() / "chat-tests" / "mistral-v3.json";
  const nlohmann::json entries = nlohmann::json::parse(read_bytes(path));
  ASSERT_EQ(entries.size(), 9u);
  for (const nlohmann::json& entry : entries) {
    const auto conversation = testing::scratch_dir() / "conversation.json";
    std::ofstream(conversation) << entry.dump();
    const std::string expected = id_line(entry.at("ids").get<std::vector<int32_t>>());
    for (const bool gguf : {false, true}) {
      const RunResult result = run_tokenize(
          mistral_flag(gguf) + " --chat " + quoted(conversation) + " --template mistral", "");
      EXPECT_EQ(result.exit_code, 0) << result.err;
      EXPECT_EQ(result.out, expected) << entry.at("description");
    }
  }
}

TEST(TokenizeApp, EmptyInputGivesAnEmptyLine) {
  const RunResult result = run_tokenize(tokenizer_flag(), "");
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out, "\n");
}

// Every failure: exit code 1, nothing on stdout, exactly one line on stderr.
void expect_one_line_error(const RunResult& result, const std::string& mentions) {
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.out, "");
  ASSERT_FALSE(result.err.empty());
  EXPECT_EQ(result.err.find('\n'), result.err.size() - 1) << result.err;
  EXPECT_NE(result.err.find(mentions), std::string::npos) << result.err;
}

TEST(TokenizeApp, ErrorsAreOneLineAndExitCodeOne) {
  const auto dir = testing::scratch_dir();
  expect_one_line_error(run_tokenize("", "x"), "--tokenizer");
  expect_one_line_error(run_tokenize("--tokenizer " + quoted(dir / "missing.json"), "x"),
                        "missing.json");
  std::ofstream(dir / "bad.json") << "{ not json";
  expect_one_line_error(run_tokenize("--tokenizer " + quoted(dir / "bad.json"), "x"), "bad.json");
  std::filesystem::create_directory(dir / "empty-model");
  expect_one_line_error(run_tokenize(quoted(dir / "empty-model"), "x"), "empty-model");
  expect_one_line_error(run_tokenize(tokenizer_flag() + " --file " + quoted(dir / "none.txt"), ""),
                        "none.txt");
  expect_one_line_error(run_tokenize("--no-such-flag", ""), "no-such-flag");
  // SentencePiece files: cut short, or not one at all.
  const std::string model = read_bytes(testing::mistral_model_path());
  std::ofstream(dir / "truncated.model", std::ios::binary) << model.substr(0, model.size() / 2);
  expect_one_line_error(run_tokenize("--tokenizer " + quoted(dir / "truncated.model"), "x"),
                        "truncated.model: is truncated: field 1 at byte");
  std::ofstream(dir / "foreign.model", std::ios::binary) << "\x0A\x05hello world";
  expect_one_line_error(run_tokenize("--tokenizer " + quoted(dir / "foreign.model"), "x"),
                        "foreign.model: is not a SentencePiece model");
  std::ofstream(dir / "notes.txt") << "just text";
  expect_one_line_error(
      run_tokenize("--tokenizer " + quoted(dir / "notes.txt"), "x"),
      "notes.txt: is not a tokenizer.json, a SentencePiece .model file or a GGUF");
  std::ofstream(dir / "chat.json") << R"([{"role": "assistant", "content": "Hi"}])";
  expect_one_line_error(
      run_tokenize(
          mistral_flag(false) + " --chat " + quoted(dir / "chat.json") + " --template mistral", ""),
      "conversation: ends with a assistant message");
}

}  // namespace
}  // namespace mamba2
