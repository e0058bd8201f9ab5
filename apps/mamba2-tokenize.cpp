// mamba2-tokenize: text -> token ids, one line of space-separated ids, nothing added.
//   mamba2-tokenize --tokenizer tokenizer.json < prompt.txt
//   mamba2-tokenize MODEL --file prompt.txt      (a GGUF file or a model directory)
// The text is read as bytes; ill-formed UTF-8 is tokenized as U+FFFD.
#include <cstdio>
#include <filesystem>
#include <string>

#include "common/cli.h"
#include "mamba2/error.h"
#include "mamba2/model_loader.h"
#include "mamba2/tokenizer.h"

namespace {

using mamba2::Error;
namespace fs = std::filesystem;

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

// A model directory's tokenizer.json is read directly (no need to load gigabytes of weights);
// anything else (a GGUF file, a directory without one) goes through the model loader.
mamba2::Tokenizer tokenizer_of_model(const fs::path& model) {
  const fs::path json = model / "tokenizer.json";
  if (fs::is_directory(model) && fs::is_regular_file(json)) {
    return mamba2::Tokenizer(mamba2::load_tokenizer_json(json), json.string());
  }
  mamba2::ModelWeights weights = mamba2::load_model_weights(model);
  if (!weights.tokenizer) {
    throw Error(model.string(),
                "has no tokenizer (no tokenizer.ggml.* keys or tokenizer.json); "
                "pass --tokenizer tokenizer.json");
  }
  return mamba2::Tokenizer(std::move(*weights.tokenizer), model.string());
}

void print_ids(const std::vector<int32_t>& ids) {
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
  auto* model_option =
      app.add_option("MODEL", model, "a GGUF file or a model directory whose tokenizer to use");
  tokenizer_option->excludes(model_option);
  app.add_option("--file", file, "read the text from this file instead of stdin ('-' is stdin)");

  return mamba2::apps::run_app(app, argc, argv, [&] {
    if (tokenizer_path.empty() && model.empty()) {
      throw Error("arguments", "give --tokenizer FILE or a MODEL (see --help)");
    }
    const mamba2::Tokenizer tokenizer =
        tokenizer_path.empty()
            ? tokenizer_of_model(model)
            : mamba2::Tokenizer(mamba2::load_tokenizer_json(tokenizer_path), tokenizer_path);
    print_ids(tokenizer.encode(read_input(file)));
    return 0;
  });
}
