#include "runtime/tokenizer/sentencepiece_library.h"

#include <sentencepiece_processor.h>

#include "mamba2/error.h"
#include "runtime/tokenizer/piece_text.h"

namespace mamba2 {
namespace {

using piece_text::kSpace;

}  // namespace

SentencePieceLibrary::SentencePieceLibrary(const TokenizerData& data, const std::string& source)
    : source_(source), processor_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
  const auto status = processor_->LoadFromSerializedProto(data.sentencepiece_model);
  if (!status.ok()) fail("the SentencePiece library cannot load the model: " + status.ToString());
  const int size = processor_->GetPieceSize();
  if (static_cast<size_t>(size) != data.tokens.size()) {
    fail("the SentencePiece model has " + std::to_string(size) + " pieces but the vocabulary " +
         std::to_string(data.tokens.size()));
  }
  std::vector<SpecialTokenSplitter::Token> control;
  pieces_.resize(data.tokens.size());
  for (int id = 0; id < size; ++id) {
    const std::string& piece = processor_->IdToPiece(id);
    if (piece != data.tokens[static_cast<size_t>(id)]) {
      fail("piece " + std::to_string(id) + " is '" + piece + "' in the SentencePiece model but '" +
           data.tokens[static_cast<size_t>(id)] + "' in the vocabulary");
    }
    pieces_[static_cast<size_t>(id)] = piece;
    if (processor_->IsByte(id)) {
      const int byte = piece_text::byte_of(piece);
      if (byte < 0)
        fail("piece " + std::to_string(id) + " is a byte piece but reads '" + piece + "'");
      pieces_[static_cast<size_t>(id)] = std::string(1, static_cast<char>(byte));
    }
    if (processor_->IsControl(id) || processor_->IsUnknown(id)) control.push_back({piece, id});
  }
  control_tokens_ = SpecialTokenSplitter(std::move(control));

  // What decoding does that the library does not expose: ask it.
  if (const int unk = processor_->unk_id(); unk >= 0) unknown_surface_ = decode({&unk, 1});
  for (int id = 0; id < size; ++id) {
    const std::string& piece = pieces_[static_cast<size_t>(id)];
    // A piece like "▁a": a space, then text (decoding "▁▁" alone keeps a space either way).
    const bool space_then_text = piece.starts_with(kSpace) && piece.size() > kSpace.size() &&
                                 !piece.substr(kSpace.size()).starts_with(kSpace);
    if (space_then_text && !processor_->IsControl(id) && !processor_->IsUnknown(id) &&
        !processor_->IsByte(id) && !processor_->IsUnused(id)) {
      const int32_t one = id;
      drops_dummy_prefix_ = !decode({&one, 1}).starts_with(' ');
      break;
    }
  }
}

SentencePieceLibrary::~SentencePieceLibrary() = default;

void SentencePieceLibrary::fail(const std::string& why) const { throw Error(source_, why); }

void SentencePieceLibrary::encode(std::string_view text, bool parse_special,
                                  std::vector<int32_t>& ids) const {
  const auto encode_text = [&](std::string_view part) {
    std::vector<int> out;
    const auto status = processor_->Encode(part, &out);
    if (!status.ok()) fail("the SentencePiece library cannot encode: " + status.ToString());
    ids.insert(ids.end(), out.begin(), out.end());
  };
  if (!parse_special) {
    encode_text(text);
    return;
  }
  for (const auto& fragment : control_tokens_.split(text)) {
    if (fragment.token_id >= 0) {
      ids.push_back(fragment.token_id);
    } else {
      encode_text(fragment.text);
    }
  }
}

std::string SentencePieceLibrary::decode(std::span<const int32_t> ids) const {
  const std::vector<int> in(ids.begin(), ids.end());
  std::string out;
  const auto status = processor_->Decode(in, &out);
  if (!status.ok()) fail("the SentencePiece library cannot decode: " + status.ToString());
  return out;
}

std::string SentencePieceLibrary::decode_next(int32_t id, bool& at_start) const {
  if (processor_->IsControl(id)) return "";  // invisible, and the text has not begun
  const bool first = at_start;
  at_start = false;
  if (processor_->IsUnknown(id)) return unknown_surface_;
  std::string_view piece = pieces_[static_cast<size_t>(id)];
  if (processor_->IsByte(id)) return std::string(piece);
  if (first && drops_dummy_prefix_ && piece.starts_with(kSpace)) piece.remove_prefix(kSpace.size());
  return piece_text::unescape_spaces(piece);
}

}  // namespace mamba2
