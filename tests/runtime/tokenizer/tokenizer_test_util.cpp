#include "tests/runtime/tokenizer/tokenizer_test_util.h"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "mamba2/tokenizer_file.h"
#include "tests/support/file_bytes.h"
#include "tests/support/test_paths.h"

namespace mamba2::testing {
namespace {

// A test vector file's bytes; a missing or empty one must not make an empty, passing suite.
std::string vector_file(const std::filesystem::path& path) {
  std::string bytes = read_bytes(path);
  if (bytes.empty()) throw std::runtime_error("cannot read " + path.string());
  return bytes;
}

}  // namespace

std::filesystem::path neox_tokenizer_path() { return data_dir() / "gpt-neox-20b-tokenizer.json"; }

const Tokenizer& neox_tokenizer() {
  static const Tokenizer tokenizer(load_tokenizer_json(neox_tokenizer_path()));
  return tokenizer;
}

std::filesystem::path mistral_model_path() { return data_dir() / "mistral-v3-tokenizer.model"; }
std::filesystem::path mistral_gguf_path() { return data_dir() / "mistral-v3-vocab.gguf"; }

const Tokenizer& mistral_model_tokenizer() {
  static const Tokenizer tokenizer(load_sentencepiece_model(mistral_model_path()));
  return tokenizer;
}

const Tokenizer& mistral_gguf_tokenizer() {
  static const Tokenizer tokenizer(load_tokenizer_file(mistral_gguf_path()));
  return tokenizer;
}

const Tokenizer& llama_spm_tokenizer() {
  static const Tokenizer tokenizer(
      load_tokenizer_file(data_dir() / "tokenizer-tests" / "ggml-vocab-llama-spm.gguf"));
  return tokenizer;
}

const std::vector<std::string>& vector_set_names() {
  static const std::vector<std::string> names = {"llamacpp-neox", "ggml-prompts-neox",
                                                 "extra-neox"};
  return names;
}

std::vector<TokenizerCase> read_vector_set(const std::string& name) {
  const std::filesystem::path dir = data_dir() / "tokenizer-tests";
  const std::string inputs = vector_file(dir / (name + ".inp"));
  const std::string outputs = vector_file(dir / (name + ".out"));

  std::vector<TokenizerCase> cases;
  const std::string separator = "\n__ggml_vocab_test__\n";
  size_t start = 0;
  for (size_t found; (found = inputs.find(separator, start)) != std::string::npos;) {
    cases.push_back({inputs.substr(start, found - start), {}});
    start = found + separator.size();
  }
  if (start != inputs.size()) throw std::runtime_error(name + ".inp: text after the last case");

  std::istringstream lines(outputs);
  std::string line;
  size_t index = 0;
  while (std::getline(lines, line)) {
    if (index >= cases.size()) throw std::runtime_error(name + ".out: more lines than cases");
    std::istringstream words(line);
    for (int32_t id; words >> id;) cases[index].ids.push_back(id);
    ++index;
  }
  if (index != cases.size()) throw std::runtime_error(name + ".out: fewer lines than cases");
  return cases;
}

std::string printable(const std::string& text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02X", byte);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace mamba2::testing
