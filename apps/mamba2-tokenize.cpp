// mamba2-tokenize: text -> token ids, one line of space-separated ids, nothing added.
//   mamba2-tokenize --tokenizer tokenizer.json < prompt.txt
//   mamba2-tokenize MODEL_DIR --file prompt.txt      (MODEL_DIR holds tokenizer.json)
// The text is read as bytes; ill-formed UTF-8 is tokenized as U+FFFD.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "mamba2/error.h"
#include "mamba2/tokenizer.h"

namespace {

using mamba2::Error;

// The tokenizer refuses more than 1 GiB; reading stops one byte past that so it can say so.
constexpr size_t kMaxInputBytes = (size_t{1} << 30) + 1;

std::string read_stream(std::FILE* stream, const std::string& name) {
  std::string text;
  char buffer[1 << 16];
  size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, stream)) > 0) {
    text.append(buffer, got);
    if (text.size() > kMaxInputBytes) throw Error(name, "input is larger than 1 GiB");
  }
  if (std::ferror(stream)) throw Error(name, "cannot read");
  return text;
}

std::string read_input(const std::string& file) {
  if (file.empty() || file == "-") return read_stream(stdin, "stdin");
  std::FILE* stream = std::fopen(file.c_str(), "rb");
  if (!stream) throw Error(file, "cannot open");
  try {
    std::string text = read_stream(stream, file);
    std::fclose(stream);
    return text;
  } catch (...) {
    std::fclose(stream);
    throw;
  }
}

// A model directory's tokenizer.json. GGUF models get theirs from load_model() once the model
// loader is wired into the front ends.
std::filesystem::path tokenizer_of_model(const std::filesystem::path& model) {
  if (!std::filesystem::is_directory(model)) {
    if (!std::filesystem::exists(model)) throw Error(model.string(), "no such file or directory");
    throw Error(model.string(),
                "reading the tokenizer from a model file is not supported yet; pass a model "
                "directory with tokenizer.json or --tokenizer FILE");
  }
  const std::filesystem::path json = model / "tokenizer.json";
  if (!std::filesystem::is_regular_file(json)) {
    throw Error(model.string(), "the directory has no tokenizer.json");
  }
  return json;
}

int tokenize(const std::string& tokenizer_path, const std::string& model, const std::string& file) {
  const std::filesystem::path json =
      tokenizer_path.empty() ? tokenizer_of_model(model) : std::filesystem::path(tokenizer_path);
  const mamba2::Tokenizer tokenizer(mamba2::load_tokenizer_json(json), json.string());
  const std::vector<int32_t> ids = tokenizer.encode(read_input(file));

  std::string line;
  line.reserve(ids.size() * 6 + 1);
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) line += ' ';
    line += std::to_string(ids[i]);
  }
  line += '\n';
  if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size() || std::fflush(stdout) != 0) {
    throw Error("stdout", "cannot write");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Prints the token ids of a text (stdin by default) on one line, adding no BOS/EOS.",
               "mamba2-tokenize"};
  std::string tokenizer_path;
  std::string model;
  std::string file;
  auto* tokenizer_option =
      app.add_option("--tokenizer", tokenizer_path, "a Hugging Face tokenizer.json");
  auto* model_option = app.add_option("MODEL", model, "a model directory holding tokenizer.json");
  tokenizer_option->excludes(model_option);
  app.add_option("--file", file, "read the text from this file instead of stdin ('-' is stdin)");

  try {
    app.parse(argc, argv);
    if (tokenizer_path.empty() && model.empty()) {
      throw CLI::RequiredError("--tokenizer FILE or MODEL");
    }
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::ParseError& error) {
    std::fprintf(stderr, "mamba2-tokenize: error: %s (see --help)\n", error.what());
    return 1;
  }
  try {
    return tokenize(tokenizer_path, model, file);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "mamba2-tokenize: error: %s\n", error.what());
    return 1;
  }
}
