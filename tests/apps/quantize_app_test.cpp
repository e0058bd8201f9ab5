// Runs the real mamba2-quantize binary and checks its exit codes, outputs and refusals.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include "mamba2/random_model.h"
#include "mamba2/tokenizer.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/gguf_model.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

namespace fs = std::filesystem;

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::string quote(const std::string& arg) {
  std::string quoted = "'";
  for (char c : arg) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

RunResult run_quantize(const std::vector<std::string>& args) {
  const fs::path dir = testing::scratch_dir();
  std::string command = quote(MAMBA2_QUANTIZE_BIN);
  for (const std::string& arg : args) command.append(" ").append(quote(arg));
  command.append(" > ").append(quote((dir / "out.txt").string()));
  command.append(" 2> ").append(quote((dir / "err.txt").string()));
  const int status = std::system(command.c_str());
  RunResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = read_text(dir / "out.txt");
  result.err = read_text(dir / "err.txt");
  return result;
}

int count_lines(const std::string& text) {
  int lines = 0;
  for (char c : text) lines += c == '\n';
  return lines;
}

fs::path random_model_gguf() {
  ModelConfig config;
  config.d_model = 64;
  config.n_layer = 2;
  config.vocab_size = 256;
  config.d_state = 16;
  config.headdim = 16;
  config.chunk_size = 16;
  config.resolve("test");
  const ModelWeights weights = make_random_weights(config, 7);
  const fs::path path = testing::scratch_dir() / "input.gguf";
  write_gguf_model(weights, path);
  return path;
}

TEST(QuantizeApp, ConvertsAGgufFileToF16) {
  const fs::path input = random_model_gguf();
  const fs::path output = testing::scratch_dir() / "out-f16.gguf";
  const RunResult run = run_quantize({input.string(), output.string(), "--type", "f16"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  ASSERT_TRUE(fs::exists(output));
  EXPECT_NE(run.err.find("blk.0.ssm_in.weight"), std::string::npos) << run.err;  // progress
  EXPECT_NE(run.out.find("f16 x5"), std::string::npos) << run.out;  // embd + 2 x (in, out)
  EXPECT_NE(run.out.find("bits per weight"), std::string::npos) << run.out;
  const GgufFile file = GgufFile::open(output);
  EXPECT_EQ(file.find_tensor("blk.1.ssm_out.weight")->dtype, DType::kF16);
  EXPECT_EQ(file.get_int("general.file_type"), 1);
  EXPECT_NO_THROW(load_gguf_model(output));
  // No temporary file is left beside the output.
  int files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(output.parent_path())) ++files;
  EXPECT_EQ(files, 1);
}

TEST(QuantizeApp, ConvertsAFixtureDirectory) {
  for (const char* fixture : {"tiny", "small_groups", "m1_tiny", "m1_small"}) {
    const fs::path dir = testing::fixture_dir(fixture);
    const fs::path output = testing::scratch_dir() / "fixture.gguf";
    const RunResult run = run_quantize({dir.string(), output.string(), "--type", "f32"});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    ASSERT_TRUE(fs::exists(output));
    const ModelWeights loaded = load_gguf_model(output);
    EXPECT_EQ(loaded.name, fixture);  // named after the directory
    EXPECT_NE(run.out.find("f32 x"), std::string::npos) << run.out;
  }
}

TEST(QuantizeApp, RefusesToOverwriteAFileOfTheInputDirectory) {
  const fs::path dir = testing::fixture_dir("tiny");
  const RunResult run =
      run_quantize({dir.string(), (dir / "model.safetensors").string(), "--type", "f16"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(count_lines(run.err), 1) << run.err;
  EXPECT_NE(run.err.find("input directory"), std::string::npos) << run.err;
}

TEST(QuantizeApp, ConvertsToQ8AndBack) {
  const fs::path input = random_model_gguf();
  const fs::path q8 = testing::scratch_dir() / "q8.gguf";
  ASSERT_EQ(run_quantize({input.string(), q8.string(), "--type", "q8_0"}).exit_code, 0);
  EXPECT_EQ(GgufFile::open(q8).find_tensor("token_embd.weight")->dtype, DType::kQ8_0);
  const fs::path f32 = testing::scratch_dir() / "f32.gguf";
  const RunResult back = run_quantize({q8.string(), f32.string(), "--type", "f32"});
  ASSERT_EQ(back.exit_code, 0) << back.err;
  EXPECT_EQ(GgufFile::open(f32).find_tensor("token_embd.weight")->dtype, DType::kF32);
}

TEST(QuantizeApp, EmbedsATokenizerJsonThatEncodesTheSame) {
  // The NeoX vocabulary (50277 ids) needs an embedding of at least that many rows.
  ModelConfig config;
  config.d_model = 16;
  config.n_layer = 1;
  config.vocab_size = 50277;
  config.pad_vocab_size_multiple = 16;
  config.d_state = 16;
  config.headdim = 16;
  config.resolve("test");
  const fs::path input = testing::scratch_dir() / "neox.gguf";
  write_gguf_model(make_random_weights(config, 3), input);
  const fs::path json = testing::data_dir() / "gpt-neox-20b-tokenizer.json";
  const fs::path output = testing::scratch_dir() / "with-tokenizer.gguf";
  const RunResult run =
      run_quantize({input.string(), output.string(), "--tokenizer", json.string()});
  ASSERT_EQ(run.exit_code, 0) << run.err;

  const ModelWeights loaded = load_gguf_model(output);
  ASSERT_TRUE(loaded.tokenizer);
  EXPECT_EQ(loaded.tokenizer->tokens.size(), 50288u);  // padded to the embedding rows
  const Tokenizer from_gguf(*loaded.tokenizer, "gguf");
  const Tokenizer from_json(load_tokenizer_json(json), "json");
  const std::string text = "Hello world!  Mamba-2 runs   on CPUs.<|endoftext|>";
  EXPECT_EQ(from_gguf.encode(text), from_json.encode(text));
  EXPECT_EQ(from_gguf.eos_id(), from_json.eos_id());
}

TEST(QuantizeApp, RefusesToOverwriteItsInput) {
  const fs::path input = random_model_gguf();
  const auto before = fs::file_size(input);
  const RunResult run = run_quantize({input.string(), input.string(), "--type", "f16"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(count_lines(run.err), 1) << run.err;
  EXPECT_NE(run.err.find("is the input file"), std::string::npos) << run.err;
  EXPECT_EQ(fs::file_size(input), before);
  // The same file through another spelling of the path.
  const fs::path other = input.parent_path() / "." / input.filename();
  EXPECT_EQ(run_quantize({input.string(), other.string()}).exit_code, 1);
}

TEST(QuantizeApp, BadFlagIsOneLineAndExitOne) {
  const fs::path input = random_model_gguf();
  const fs::path output = testing::scratch_dir() / "never.gguf";
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{input.string(), output.string(), "--bogus"},
        std::vector<std::string>{input.string(), output.string(), "--type", "tq1_0"},
        std::vector<std::string>{input.string()}}) {
    const RunResult run = run_quantize(args);
    EXPECT_EQ(run.exit_code, 1) << args.back();
    EXPECT_EQ(count_lines(run.err), 1) << run.err;
    EXPECT_EQ(run.err.rfind("mamba2-quantize: error: ", 0), 0u) << run.err;
    EXPECT_FALSE(fs::exists(output));
  }
}

TEST(QuantizeApp, MissingOrBrokenInputIsOneLineAndExitOne) {
  const fs::path dir = testing::scratch_dir();
  const RunResult missing = run_quantize({(dir / "nope.gguf").string(), (dir / "o.gguf").string()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(count_lines(missing.err), 1) << missing.err;
  std::ofstream(dir / "junk.gguf") << "not a gguf file at all";
  const RunResult junk = run_quantize({(dir / "junk.gguf").string(), (dir / "o.gguf").string()});
  EXPECT_EQ(junk.exit_code, 1);
  EXPECT_EQ(count_lines(junk.err), 1) << junk.err;
  EXPECT_NE(junk.err.find("not a GGUF file"), std::string::npos) << junk.err;
}

// A GGUF file takes llama-quantize's path: the same file as llama-quantize's, for the type spelled
// either way (tests/runtime/gguf/gguf_requantize_test.cpp covers every type).
TEST(QuantizeApp, WritesLlamaQuantizesFileForItsTypeNames) {
  const fs::path fixtures = testing::fixture_dir("llamacpp_quants");
  for (const char* type : {"Q4_K_M", "iq4_xs"}) {
    const fs::path output = testing::scratch_dir() / (std::string(type) + ".gguf");
    const RunResult run = run_quantize(
        {(fixtures / "mamba2-qtest-F32.gguf").string(), output.string(), "--type", type});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    std::string upper = type;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(read_text(output), read_text(fixtures / ("mamba2-qtest-" + upper + ".gguf"))) << type;
  }
}

TEST(QuantizeApp, HelpExitsZero) {
  const RunResult run = run_quantize({"--help"});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_NE(run.out.find("--type"), std::string::npos);
}

}  // namespace
}  // namespace mamba2
