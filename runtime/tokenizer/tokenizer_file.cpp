#include "mamba2/tokenizer_file.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "mamba2/error.h"
#include "mamba2/tokenizer.h"
#include "runtime/gguf/gguf_tokenizer.h"

namespace mamba2 {
namespace {

enum class FileKind { kJson, kSentencePiece, kGguf, kUnknown };

// GGUF opens with its magic, JSON with '{' after any whitespace, and a SentencePiece model with
// the tag of its first piece (0x0A, which is also '\n': JSON is tried first).
FileKind kind_of(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string(), "cannot open");
  char buffer[64] = {};
  in.read(buffer, sizeof buffer);
  const std::string_view head(buffer, static_cast<size_t>(in.gcount()));
  if (head.starts_with("GGUF")) return FileKind::kGguf;
  const size_t first = head.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && head[first] == '{') return FileKind::kJson;
  if (head.starts_with('\x0A')) return FileKind::kSentencePiece;
  return FileKind::kUnknown;
}

// tokenizer_config.json's "chat_template": a Jinja text, or a list of named templates of which
// Hugging Face uses "default"; "" when there is none.
std::string read_chat_template(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string(), "cannot open");
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string(), std::string("not valid JSON: ") + e.what());
  }
  if (!config.is_object() || !config.contains("chat_template")) return "";
  const nlohmann::json& chat_template = config.at("chat_template");
  if (chat_template.is_string()) return chat_template.get<std::string>();
  if (chat_template.is_array()) {
    for (const nlohmann::json& named : chat_template) {
      if (named.is_object() && named.value("name", "") == "default" && named.contains("template") &&
          named.at("template").is_string()) {
        return named.at("template").get<std::string>();
      }
    }
  }
  return "";
}

}  // namespace

TokenizerData load_tokenizer_file(const std::filesystem::path& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    if (std::filesystem::exists(path, error)) throw Error(path.string(), "is not a file");
    throw Error(
        path.string(),
        "cannot read: " + std::make_error_code(std::errc::no_such_file_or_directory).message());
  }
  switch (kind_of(path)) {
    case FileKind::kJson:
      return load_tokenizer_json(path);
    case FileKind::kSentencePiece:
      return load_sentencepiece_model(path);
    case FileKind::kGguf: {
      std::optional<TokenizerData> data = read_gguf_tokenizer(GgufFile::open(path));
      if (!data) throw Error(path.string(), "has no vocabulary (no tokenizer.ggml.* keys)");
      Tokenizer check(*data, path.string());  // a bad vocabulary fails here, naming the file
      return std::move(*data);
    }
    case FileKind::kUnknown:
      break;
  }
  throw Error(path.string(), "is not a tokenizer.json, a SentencePiece .model file or a GGUF file");
}

std::optional<TokenizerData> load_tokenizer_directory(const std::filesystem::path& dir) {
  for (const char* name : {"tokenizer.json", "tokenizer.model", "tokenizer.model.v3"}) {
    std::error_code error;
    if (!std::filesystem::is_regular_file(dir / name, error)) continue;
    TokenizerData data = load_tokenizer_file(dir / name);
    if (std::filesystem::is_regular_file(dir / "tokenizer_config.json", error)) {
      data.chat_template = read_chat_template(dir / "tokenizer_config.json");
    }
    return data;
  }
  return std::nullopt;
}

}  // namespace mamba2
