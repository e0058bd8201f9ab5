#include "runtime/tokenizer/byte_level_bpe.h"

#include <limits>

#include "mamba2/error.h"
#include "runtime/tokenizer/byte_unicode.h"
#include "runtime/tokenizer/nfc.h"
#include "runtime/tokenizer/utf8.h"

namespace mamba2 {
namespace {

// llama.cpp pre-tokenizer names that use the plain GPT-2 regex (llama-vocab.cpp), and
// "default", which converters wrote before the names existed. Others (llama-bpe, qwen2, ...)
// split text differently, and a tokenizer built with our regex would silently disagree.
bool uses_gpt2_regex(std::string_view pre) {
  for (const std::string_view name : {"gpt-2", "mpt", "olmo", "jais", "trillion", "default", ""}) {
    if (pre == name) return true;
  }
  return false;
}

// BPE keeps about 40 bytes of state per byte of a pre-token, so a pre-token longer than this
// (a megabyte of letters with no space, digit or punctuation) is merged in pieces of at most
// this size, cut between characters: a gigabyte "word" would otherwise need 40 GB. Hugging Face
// merges it whole, so ids may differ next to each cut; decoding still gives the same text.
constexpr size_t kMaxWordBytes = size_t{1} << 20;

bool is_utf8_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

}  // namespace

ByteLevelBpe::ByteLevelBpe(const TokenizerData& data, const std::string& source) : source_(source) {
  if (!uses_gpt2_regex(data.pre)) {
    fail("pre-tokenizer '" + data.pre +
         "' is not supported (only the GPT-2 regex: gpt-2, olmo, mpt)");
  }
  build_vocab(data);
  build_merges(data);
}

void ByteLevelBpe::fail(const std::string& why) const { throw Error(source_, why); }

void ByteLevelBpe::build_vocab(const TokenizerData& data) {
  byte_token_.fill(-1);
  token_bytes_.resize(data.tokens.size());
  id_of_.reserve(data.tokens.size());
  for (size_t i = 0; i < data.tokens.size(); ++i) {
    const auto id = static_cast<int32_t>(i);
    const std::string& text = data.tokens[i];
    const TokenType type = data.token_types[i];
    id_of_.try_emplace(text, id);
    if (type == TokenType::kControl || type == TokenType::kUserDefined) {
      // Added tokens are matched byte-wise in text that is valid UTF-8; an invalid one could
      // split a character and break the regex's precondition.
      if (!utf8::is_valid(text)) fail("added token " + std::to_string(id) + " is not UTF-8");
      token_bytes_[i] = text;
      if (type == TokenType::kControl) control_tokens_.add(text, id);
      if (type == TokenType::kUserDefined) user_defined_tokens_.add(text, id);
      continue;
    }
    // As Hugging Face's ByteLevel decoder: a token with a character outside the byte map
    // decodes to its literal text.
    std::optional<std::string> bytes = token_text_to_bytes(text);
    token_bytes_[i] = bytes ? std::move(*bytes) : text;
  }
  for (unsigned byte = 0; byte < 256; ++byte) {
    std::string text;
    utf8::append(text, byte_to_unicode(static_cast<unsigned char>(byte)));
    const auto it = id_of_.find(text);
    if (it != id_of_.end()) byte_token_[byte] = it->second;
  }
}

void ByteLevelBpe::build_merges(const TokenizerData& data) {
  if (data.merges.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    fail("more than 2^31-1 merges");
  }
  const auto lookup = [&](std::string_view text, size_t rank) {
    const auto it = id_of_.find(std::string(text));
    if (it == id_of_.end()) {
      fail("merge " + std::to_string(rank) + " names '" + std::string(text) +
           "', which is not a token");
    }
    return it->second;
  };
  for (size_t rank = 0; rank < data.merges.size(); ++rank) {
    const std::string& merge = data.merges[rank];
    // Split at the first space after the first character, as llama.cpp does: byte-level
    // tokens spell a space as 'Ġ', so only the separator is a real space.
    const size_t space = merge.size() > 1 ? merge.find(' ', 1) : std::string::npos;
    if (space == std::string::npos || space + 1 >= merge.size()) {
      fail("merge " + std::to_string(rank) + " ('" + merge + "') is not of the form 'left right'");
    }
    const std::string_view left(merge.data(), space);
    const std::string_view right(merge.data() + space + 1, merge.size() - space - 1);
    const int32_t left_id = lookup(left, rank);
    const int32_t right_id = lookup(right, rank);
    merges_.add(left_id, right_id, lookup(std::string(left) + std::string(right), rank));
  }
}

void ByteLevelBpe::encode_normalized(std::string_view text, std::vector<int32_t>& ids) const {
  std::vector<int32_t> symbols;
  BpeWorkspace workspace;
  const auto merge_piece = [&](std::string_view piece) {
    symbols.clear();
    for (const char c : piece) {
      // A byte without a token is dropped, as Hugging Face does without an unk token. NeoX
      // lacks only bytes that never occur in UTF-8.
      const int32_t id = byte_token_[static_cast<unsigned char>(c)];
      if (id >= 0) symbols.push_back(id);
    }
    bpe_merge(symbols, merges_, ids, workspace);
  };
  const auto encode_word = [&](std::string_view word) {
    while (word.size() > kMaxWordBytes) {
      size_t cut = kMaxWordBytes;  // the text is valid UTF-8: at most 3 steps back
      while (cut > 1 && is_utf8_continuation(word[cut])) --cut;
      merge_piece(word.substr(0, cut));
      word.remove_prefix(cut);
    }
    merge_piece(word);
  };
  user_defined_tokens_.for_each(text, [&](const AddedTokenMatcher::Piece& piece) {
    if (piece.token_id >= 0) {
      ids.push_back(piece.token_id);
    } else {
      pretokenizer_.for_each(piece.text, encode_word);
    }
  });
}

void ByteLevelBpe::encode(std::string_view text, bool /*parse_special*/,
                          std::vector<int32_t>& ids) const {
  std::string repaired;
  if (!utf8::is_valid(text)) {
    repaired = utf8::replace_invalid(text);
    text = repaired;
  }
  control_tokens_.for_each(text, [&](const AddedTokenMatcher::Piece& piece) {
    if (piece.token_id >= 0) {
      ids.push_back(piece.token_id);
    } else {
      encode_normalized(to_nfc(piece.text), ids);
    }
  });
}

std::string ByteLevelBpe::decode(std::span<const int32_t> ids) const {
  std::string out;
  for (const int32_t id : ids) out += token_bytes_[static_cast<size_t>(id)];
  return out;
}

std::string ByteLevelBpe::decode_next(int32_t id, bool& at_start) const {
  at_start = false;
  return token_bytes_[static_cast<size_t>(id)];
}

}  // namespace mamba2
