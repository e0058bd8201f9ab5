#include "runtime/tokenizer/llama_spm.h"

#include "mamba2/error.h"
#include "runtime/tokenizer/piece_text.h"

namespace mamba2 {
namespace {

using piece_text::byte_of;
using piece_text::byte_token_text;
using piece_text::escape_spaces;
using piece_text::unescape_spaces;

// llama.cpp merges a whole text fragment at once; its merge keeps about 40 bytes of state per
// byte, so a fragment longer than this is merged in pieces. A piece ends before a space that
// follows another character where one is near, which changes no id for vocabularies whose
// pieces hold ▁ only at their start (Mistral's); elsewhere ids may differ next to a
// cut, and decoding still gives the same text.
constexpr size_t kMaxPieceBytes = size_t{1} << 20;

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Where to end the next piece of `text` (longer than kMaxPieceBytes).
size_t cut_point(std::string_view text) {
  for (size_t cut = kMaxPieceBytes; cut > kMaxPieceBytes / 2; --cut) {
    if (text[cut] == ' ' && text[cut - 1] != ' ') return cut;
  }
  size_t cut = kMaxPieceBytes;
  while (cut > 1 && is_continuation(text[cut])) --cut;
  return cut;
}

}  // namespace

LlamaSpm::LlamaSpm(const TokenizerData& data, const std::string& source)
    : add_space_prefix_(data.add_space_prefix.value_or(true)) {
  const auto fail = [&](const std::string& why) { throw Error(source, why); };
  if (data.scores.size() != data.tokens.size()) {
    fail(std::to_string(data.scores.size()) + " scores for " + std::to_string(data.tokens.size()) +
         " tokens (a SentencePiece vocabulary needs one score per token)");
  }
  std::vector<SpecialTokenSplitter::Token> user_defined;
  std::vector<SpecialTokenSplitter::Token> special;
  pieces_.resize(data.tokens.size());
  for (size_t i = 0; i < data.tokens.size(); ++i) {
    const auto id = static_cast<int32_t>(i);
    // llama.cpp names an empty token so that it cannot match text.
    const std::string text =
        data.tokens[i].empty() ? "[EMPTY_" + std::to_string(i) + "]" : data.tokens[i];
    if (const int32_t first = vocab_.find(text); first >= 0) {
      fail("token " + std::to_string(id) + " '" + text + "' repeats token " +
           std::to_string(first) + " (llama.cpp refuses such a vocabulary too)");
    }
    vocab_.add(text, data.scores[i]);
    switch (data.token_types[i]) {
      case TokenType::kNormal:
        pieces_[i] = unescape_spaces(text);
        break;
      case TokenType::kUserDefined:
        pieces_[i] = text;  // literal: its ▁ stays
        user_defined.push_back({text, id});
        special.push_back({text, id});
        break;
      case TokenType::kControl:
      case TokenType::kUnknown:
        special.push_back({text, id});
        break;
      case TokenType::kByte: {
        const int byte = byte_of(text);
        if (byte < 0)
          fail("token " + std::to_string(id) + " is a byte token but reads '" + text +
               "', not <0xXX>");
        pieces_[i] = std::string(1, static_cast<char>(byte));
        break;
      }
      case TokenType::kUnused:
        break;
    }
  }
  for (unsigned byte = 0; byte < 256; ++byte) {
    int32_t id = vocab_.find(byte_token_text(static_cast<unsigned char>(byte)));
    if (id < 0) id = vocab_.find(std::string(1, static_cast<char>(byte)));
    vocab_.set_byte_token(static_cast<unsigned char>(byte), id);
  }
  // llama.cpp stops at a byte without a token; we write unk instead, or nothing without one.
  vocab_.set_unk(data.unk_id);
  user_defined_ = SpecialTokenSplitter(std::move(user_defined));
  special_ = SpecialTokenSplitter(std::move(special));
}

void LlamaSpm::encode_fragment(std::string_view text, bool space_prefix,
                               std::vector<int32_t>& ids) const {
  SpmWorkspace workspace;
  while (text.size() > kMaxPieceBytes) {
    const size_t cut = cut_point(text);
    spm_merge(escape_spaces(text.substr(0, cut), space_prefix), vocab_, ids, workspace);
    text.remove_prefix(cut);
    space_prefix = false;
  }
  spm_merge(escape_spaces(text, space_prefix), vocab_, ids, workspace);
}

void LlamaSpm::encode(std::string_view text, bool parse_special, std::vector<int32_t>& ids) const {
  bool after_special = true;  // the text's start counts as one
  for (const auto& fragment : (parse_special ? special_ : user_defined_).split(text)) {
    if (fragment.token_id >= 0) {
      ids.push_back(fragment.token_id);
      after_special = true;
    } else {
      encode_fragment(fragment.text, add_space_prefix_ && after_special, ids);
      after_special = false;
    }
  }
}

std::string LlamaSpm::decode(std::span<const int32_t> ids) const {
  std::string out;
  bool at_start = true;
  for (const int32_t id : ids) out += decode_next(id, at_start);
  return out;
}

std::string LlamaSpm::decode_next(int32_t id, bool& at_start) const {
  std::string piece = pieces_[static_cast<size_t>(id)];
  if (at_start && add_space_prefix_ && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
  at_start = false;
  return piece;
}

}  // namespace mamba2
