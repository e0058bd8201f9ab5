// tokenizer.json (Hugging Face tokenizers) -> TokenizerData, the same form a GGUF file carries.
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>

#include "mamba2/error.h"
#include "mamba2/tokenizer.h"

namespace mamba2 {
namespace {

using nlohmann::json;

// Real tokenizer.json files are a few MB (NeoX: 2.4 MB); anything far larger is not one.
constexpr std::uintmax_t kMaxFileBytes = std::uintmax_t{512} << 20;
// tokenizer.json nests about 5 deep; a limit keeps a hostile file from exhausting the stack.
constexpr int kMaxDepth = 64;

class JsonReader {
 public:
  explicit JsonReader(std::filesystem::path path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const std::string& why) const { throw Error(path_.string(), why); }

  json parse() const {
    std::error_code error;
    const std::uintmax_t size = std::filesystem::file_size(path_, error);
    if (error) fail("cannot read: " + error.message());
    if (size > kMaxFileBytes)
      fail("is " + std::to_string(size) + " bytes, too large for a tokenizer");
    std::ifstream in(path_, std::ios::binary);
    if (!in) fail("cannot open");
    std::string text(static_cast<size_t>(size), '\0');
    in.read(text.data(), static_cast<std::streamsize>(size));
    if (in.gcount() != static_cast<std::streamsize>(size)) fail("cannot read the whole file");

    const json::parser_callback_t limit_depth = [this](int depth, json::parse_event_t, json&) {
      if (depth > kMaxDepth) fail("JSON nests deeper than " + std::to_string(kMaxDepth));
      return true;
    };
    try {
      return json::parse(text, limit_depth);
    } catch (const json::exception& e) {
      fail(std::string("not valid JSON: ") + e.what());
    }
  }

  const json& member(const json& object, const char* key, const char* where) const {
    if (!object.is_object() || !object.contains(key)) {
      fail(std::string(where) + " has no \"" + key + "\"");
    }
    return object.at(key);
  }

  std::string string_at(const json& value, const std::string& where) const {
    if (!value.is_string()) fail(where + " is not a string");
    return value.get<std::string>();
  }

  int32_t id_at(const json& value, const std::string& where) const {
    if (!value.is_number_integer()) fail(where + " is not an integer id");
    const auto id = value.get<int64_t>();
    if (id < 0 || id > std::numeric_limits<int32_t>::max()) {
      fail(where + " = " + std::to_string(id) + " is not a valid token id");
    }
    return static_cast<int32_t>(id);
  }

  bool flag_at(const json& object, const char* key) const {
    if (!object.contains(key) || object.at(key).is_null()) return false;
    if (!object.at(key).is_boolean()) fail(std::string("\"") + key + "\" is not true/false");
    return object.at(key).get<bool>();
  }

 private:
  std::filesystem::path path_;
};

// Only what our pipeline reproduces exactly: NFC (or no) normalizer, ByteLevel pre-tokenizer
// without an added prefix space, a plain BPE model.
void check_pipeline(const JsonReader& reader, const json& root, const json& model) {
  const std::string type = reader.string_at(reader.member(model, "type", "model"), "model.type");
  if (type != "BPE") reader.fail("model type is \"" + type + "\"; only BPE is supported");

  if (root.contains("normalizer") && !root.at("normalizer").is_null()) {
    const json& normalizer = root.at("normalizer");
    if (!normalizer.is_object() || normalizer.value("type", "") != "NFC") {
      reader.fail("normalizer " + normalizer.dump() + " is not supported (only NFC)");
    }
  }
  if (!root.contains("pre_tokenizer") || !root.at("pre_tokenizer").is_object() ||
      root.at("pre_tokenizer").value("type", "") != "ByteLevel") {
    reader.fail("pre_tokenizer is not ByteLevel; only byte-level BPE is supported");
  }
  const json& pre = root.at("pre_tokenizer");
  if (reader.flag_at(pre, "add_prefix_space"))
    reader.fail("ByteLevel add_prefix_space is not supported");
  if (pre.contains("use_regex") && !reader.flag_at(pre, "use_regex")) {
    reader.fail("ByteLevel use_regex=false is not supported");
  }

  if (reader.flag_at(model, "byte_fallback")) reader.fail("BPE byte_fallback is not supported");
  if (reader.flag_at(model, "ignore_merges")) reader.fail("BPE ignore_merges is not supported");
  if (model.contains("dropout") && !model.at("dropout").is_null() &&
      !(model.at("dropout").is_number() && model.at("dropout").get<double>() == 0.0)) {
    reader.fail("BPE dropout is not supported");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (model.contains(key) && !model.at(key).is_null() &&
        !(model.at(key).is_string() && model.at(key).get<std::string>().empty())) {
      reader.fail(std::string("BPE ") + key + " is not supported");
    }
  }
}

// id -> text, filled from model.vocab and added_tokens; they must agree where both name an id.
class VocabBuilder {
 public:
  VocabBuilder(const JsonReader& reader, size_t capacity) : reader_(reader) {
    // Dense ids mean no id reaches the number of entries; refusing larger ones first keeps a
    // file with id 2^31-1 from making us allocate gigabytes.
    capacity_ = capacity;
  }

  void set(int32_t id, const std::string& text, TokenType type, const std::string& where) {
    if (static_cast<size_t>(id) >= capacity_) {
      reader_.fail(where + " has id " + std::to_string(id) + ", but the " +
                   std::to_string(capacity_) + " entries cannot fill ids 0.." + std::to_string(id) +
                   " densely");
    }
    if (static_cast<size_t>(id) >= texts_.size()) texts_.resize(static_cast<size_t>(id) + 1);
    std::optional<std::string>& slot = texts_[static_cast<size_t>(id)];
    if (slot && *slot != text) {
      reader_.fail("token id " + std::to_string(id) + " is both '" + *slot + "' and '" + text +
                   "'");
    }
    slot = text;
    if (types_.size() < texts_.size()) types_.resize(texts_.size(), TokenType::kNormal);
    if (type != TokenType::kNormal) types_[static_cast<size_t>(id)] = type;
  }

  void finish(TokenizerData& data) {
    data.tokens.reserve(texts_.size());
    for (size_t id = 0; id < texts_.size(); ++id) {
      if (!texts_[id])
        reader_.fail("token ids are not dense: id " + std::to_string(id) + " is unused");
      data.tokens.push_back(std::move(*texts_[id]));
    }
    types_.resize(texts_.size(), TokenType::kNormal);
    data.token_types = std::move(types_);
  }

 private:
  const JsonReader& reader_;
  size_t capacity_;
  std::vector<std::optional<std::string>> texts_;
  std::vector<TokenType> types_;
};

std::vector<std::string> read_merges(const JsonReader& reader, const json& model) {
  const json& merges = reader.member(model, "merges", "model");
  if (!merges.is_array()) reader.fail("model.merges is not an array");
  std::vector<std::string> out;
  out.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const json& merge = merges[i];
    const std::string where = "model.merges[" + std::to_string(i) + "]";
    if (merge.is_string()) {
      out.push_back(merge.get<std::string>());
      continue;
    }
    if (!merge.is_array() || merge.size() != 2)
      reader.fail(where + " is neither \"a b\" nor [a, b]");
    const std::string left = reader.string_at(merge[0], where);
    const std::string right = reader.string_at(merge[1], where);
    // GGUF stores merges as "left right"; a part with a space could not be split back.
    if (left.empty() || right.empty() || left.find(' ') != std::string::npos ||
        right.find(' ') != std::string::npos) {
      reader.fail(where + " has an empty part or a part with a space");
    }
    out.push_back(left + " " + right);
  }
  return out;
}

}  // namespace

TokenizerData load_tokenizer_json(const std::filesystem::path& path) {
  const JsonReader reader(path);
  const json root = reader.parse();
  if (!root.is_object()) reader.fail("is not a JSON object");
  const json& model = reader.member(root, "model", "the file");
  check_pipeline(reader, root, model);

  const json& vocab = reader.member(model, "vocab", "model");
  if (!vocab.is_object()) reader.fail("model.vocab is not an object");
  const json empty = json::array();
  const json& added = root.contains("added_tokens") ? root.at("added_tokens") : empty;
  if (!added.is_array()) reader.fail("added_tokens is not an array");

  VocabBuilder builder(reader, vocab.size() + added.size());
  for (const auto& [text, id] : vocab.items()) {
    builder.set(reader.id_at(id, "model.vocab[\"" + text + "\"]"), text, TokenType::kNormal,
                "model.vocab[\"" + text + "\"]");
  }
  TokenizerData data;
  for (size_t i = 0; i < added.size(); ++i) {
    const json& token = added[i];
    const std::string where = "added_tokens[" + std::to_string(i) + "]";
    const int32_t id = reader.id_at(reader.member(token, "id", where.c_str()), where + ".id");
    const std::string content =
        reader.string_at(reader.member(token, "content", where.c_str()), where + ".content");
    for (const char* flag : {"single_word", "lstrip", "rstrip"}) {
      if (reader.flag_at(token, flag))
        reader.fail(where + " sets " + flag + ", which is not supported");
    }
    // Special tokens are matched in raw text (GGUF "control"), the others after normalization
    // (GGUF "user-defined"): llama.cpp's converter types them by "special" alone, and so do we.
    const bool special = reader.flag_at(token, "special");
    builder.set(id, content, special ? TokenType::kControl : TokenType::kUserDefined, where);
  }
  builder.finish(data);
  data.merges = read_merges(reader, model);

  const auto find = [&](const std::string& text) {
    for (size_t id = 0; id < data.tokens.size(); ++id) {
      if (data.tokens[id] == text) return static_cast<int32_t>(id);
    }
    return int32_t{-1};
  };
  // What llama.cpp's converter gets from the NeoX tokenizer_config.json.
  data.bos_id = data.eos_id = find("<|endoftext|>");
  data.pad_id = find("<|padding|>");
  if (model.contains("unk_token") && model.at("unk_token").is_string()) {
    data.unk_id = find(model.at("unk_token").get<std::string>());
  }
  data.model = "gpt2";
  data.pre = "olmo";

  // Building a Tokenizer checks what is left (merge parts and results are tokens) now, so a
  // bad file fails here, naming the file, rather than at first use.
  Tokenizer check(data, path.string());
  return data;
}

}  // namespace mamba2
