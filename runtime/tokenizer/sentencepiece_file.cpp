// SentencePiece .model file -> TokenizerData, in the form llama.cpp's converter writes to GGUF
// (conversion/base.py, _create_vocab_sentencepiece).
#include <sentencepiece_processor.h>

#include <fstream>

#include "mamba2/error.h"
#include "mamba2/tokenizer.h"

namespace mamba2 {
namespace {

// Real .model files are a few hundred KB to a few MB; anything far larger is not one.
constexpr std::uintmax_t kMaxFileBytes = std::uintmax_t{256} << 20;

class ModelFile {
 public:
  explicit ModelFile(std::filesystem::path path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const std::string& why) const { throw Error(path_.string(), why); }

  std::string read() const {
    std::error_code error;
    const std::uintmax_t size = std::filesystem::file_size(path_, error);
    if (error) fail("cannot read: " + error.message());
    if (size > kMaxFileBytes) {
      fail("is " + std::to_string(size) + " bytes, too large for a SentencePiece model");
    }
    std::ifstream in(path_, std::ios::binary);
    if (!in) fail("cannot open");
    std::string bytes(static_cast<size_t>(size), '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(size));
    if (in.gcount() != static_cast<std::streamsize>(size)) fail("cannot read the whole file");
    return bytes;
  }

  // A ModelProto is a protobuf message with no magic number. Walking its top-level fields tells
  // a truncated or foreign file apart with a clear message before the library sees it: the
  // pieces (field 1) come first, every field fits in the file, and the trainer and normalizer
  // specs (fields 2 and 3), which every trainer writes, are there.
  void check_wire_format(std::string_view bytes) const {
    if (bytes.empty()) fail("is empty, not a SentencePiece model");
    if (bytes[0] != '\x0A') {
      fail("is not a SentencePiece model: it starts with byte " + hex(bytes[0]) +
           ", not a piece (0x0A)");
    }
    bool has_trainer_spec = false;
    bool has_normalizer_spec = false;
    size_t pos = 0;
    while (pos < bytes.size()) {
      const size_t field_start = pos;
      const uint64_t tag = varint(bytes, pos, "a field tag");
      const uint64_t field = tag >> 3;
      switch (tag & 7) {
        case 0:
          varint(bytes, pos, "field " + std::to_string(field));
          break;
        case 1:
          skip(bytes, pos, 8, field, field_start);
          break;
        case 2:
          skip(bytes, pos, varint(bytes, pos, "the length of field " + std::to_string(field)),
               field, field_start);
          break;
        case 5:
          skip(bytes, pos, 4, field, field_start);
          break;
        default:
          fail("is not a SentencePiece model: field " + std::to_string(field) + " at byte " +
               std::to_string(field_start) + " has wire type " + std::to_string(tag & 7));
      }
      has_trainer_spec |= field == 2;
      has_normalizer_spec |= field == 3;
    }
    if (!has_trainer_spec || !has_normalizer_spec) {
      fail("is truncated or not a SentencePiece model: it has no " +
           std::string(has_trainer_spec ? "normalizer_spec" : "trainer_spec") + " after " +
           std::to_string(bytes.size()) + " bytes");
    }
  }

 private:
  static std::string hex(char c) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    const auto byte = static_cast<unsigned char>(c);
    return std::string("0x") + kHex[byte >> 4] + kHex[byte & 15];
  }

  uint64_t varint(std::string_view bytes, size_t& pos, const std::string& what) const {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= bytes.size()) {
        fail("is truncated: the file ends inside " + what + " at byte " + std::to_string(pos));
      }
      const auto byte = static_cast<unsigned char>(bytes[pos++]);
      value |= static_cast<uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) return value;
    }
    fail("is not a SentencePiece model: " + what + " at byte " + std::to_string(pos) +
         " is not a varint");
  }

  void skip(std::string_view bytes, size_t& pos, uint64_t length, uint64_t field,
            size_t field_start) const {
    if (length > bytes.size() - pos) {
      fail("is truncated: field " + std::to_string(field) + " at byte " +
           std::to_string(field_start) + " needs " + std::to_string(length) + " bytes, " +
           std::to_string(bytes.size() - pos) + " are left");
    }
    pos += static_cast<size_t>(length);
  }

  std::filesystem::path path_;
};

// llama.cpp's converter types pieces by IsUnknown, IsControl, IsUnused and IsByte alone, so
// USER_DEFINED pieces (Mistral's [REFERENCE_DOC_n]) become NORMAL.
TokenType converter_type(const sentencepiece::SentencePieceProcessor& processor, int id) {
  if (processor.IsUnknown(id)) return TokenType::kUnknown;
  if (processor.IsControl(id)) return TokenType::kControl;
  if (processor.IsUnused(id)) return TokenType::kUnused;
  if (processor.IsByte(id)) return TokenType::kByte;
  return TokenType::kNormal;
}

}  // namespace

TokenizerData load_sentencepiece_model(const std::filesystem::path& path) {
  const ModelFile file(path);
  TokenizerData data;
  data.sentencepiece_model = file.read();
  file.check_wire_format(data.sentencepiece_model);

  sentencepiece::SentencePieceProcessor processor;
  const auto status = processor.LoadFromSerializedProto(data.sentencepiece_model);
  if (!status.ok()) file.fail("the SentencePiece library cannot load it: " + status.ToString());
  const int size = processor.GetPieceSize();
  if (size <= 0) file.fail("has no pieces");
  data.model = "llama";
  data.pre = "default";
  data.tokens.reserve(static_cast<size_t>(size));
  data.scores.reserve(static_cast<size_t>(size));
  data.token_types.reserve(static_cast<size_t>(size));
  for (int id = 0; id < size; ++id) {
    data.tokens.push_back(processor.IdToPiece(id));
    data.scores.push_back(processor.GetScore(id));
    data.token_types.push_back(converter_type(processor, id));
  }
  data.bos_id = processor.bos_id();
  data.eos_id = processor.eos_id();
  data.unk_id = processor.unk_id();
  data.pad_id = processor.pad_id();
  // What llama.cpp's converter writes for a SentencePiece model without a tokenizer_config.json,
  // and what mistral-common does: BOS starts a prompt, EOS ends only an assistant turn.
  data.add_bos = true;
  data.add_eos = false;

  // Building a Tokenizer checks the rest now, so a bad file fails here, naming the file.
  Tokenizer check(data, path.string());
  return data;
}

}  // namespace mamba2
