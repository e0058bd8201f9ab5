#include "mamba2/tokenizer.h"

#include <array>
#include <limits>
#include <unordered_map>

#include "mamba2/error.h"
#include "runtime/tokenizer/added_token_matcher.h"
#include "runtime/tokenizer/bpe.h"
#include "runtime/tokenizer/byte_unicode.h"
#include "runtime/tokenizer/nfc.h"
#include "runtime/tokenizer/pretokenizer.h"
#include "runtime/tokenizer/utf8.h"

namespace mamba2 {
namespace {

// Inputs beyond this are refused rather than tokenized: positions in the BPE are 32-bit, and
// no prompt is a gigabyte.
constexpr size_t kMaxInputBytes = size_t{1} << 30;

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

bool is_literal_type(TokenType type) {
  return type == TokenType::kControl || type == TokenType::kUserDefined;
}

}  // namespace

struct Tokenizer::Impl {
  TokenizerData data;
  std::string source;
  std::unordered_map<std::string, int32_t> id_of;  // token text -> lowest id with that text
  std::vector<std::string> token_bytes;            // id -> the bytes it decodes to
  std::array<int32_t, 256> byte_token{};           // byte -> id of its one-character token, -1
  BpeMerges merges;
  AddedTokenMatcher control_tokens;       // matched in raw text
  AddedTokenMatcher user_defined_tokens;  // matched in NFC text
  Gpt2PreTokenizer pretokenizer;

  [[noreturn]] void fail(const std::string& why) const { throw Error(source, why); }
  void check_id(int32_t id, const char* what) const;
  void build_vocab();
  void build_merges();
  void encode_normalized(std::string_view text, std::vector<int32_t>& ids) const;
};

void Tokenizer::Impl::check_id(int32_t id, const char* what) const {
  if (id < -1 || id >= static_cast<int32_t>(data.tokens.size())) {
    fail(std::string(what) + " id " + std::to_string(id) + " is not a token id (vocabulary has " +
         std::to_string(data.tokens.size()) + ")");
  }
}

void Tokenizer::Impl::build_vocab() {
  if (data.model != "gpt2") {
    fail("tokenizer model '" + data.model + "' is not supported (only gpt2, byte-level BPE)");
  }
  if (!uses_gpt2_regex(data.pre)) {
    fail("pre-tokenizer '" + data.pre +
         "' is not supported (only the GPT-2 regex: gpt-2, olmo, mpt)");
  }
  if (data.tokens.empty()) fail("the vocabulary is empty");
  if (data.tokens.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    fail("the vocabulary has more than 2^31-1 tokens");
  }
  if (data.token_types.empty()) data.token_types.assign(data.tokens.size(), TokenType::kNormal);
  if (data.token_types.size() != data.tokens.size()) {
    fail(std::to_string(data.token_types.size()) + " token types for " +
         std::to_string(data.tokens.size()) + " tokens");
  }
  check_id(data.bos_id, "bos");
  check_id(data.eos_id, "eos");
  check_id(data.pad_id, "pad");
  check_id(data.unk_id, "unk");

  byte_token.fill(-1);
  token_bytes.resize(data.tokens.size());
  id_of.reserve(data.tokens.size());
  for (size_t i = 0; i < data.tokens.size(); ++i) {
    const auto id = static_cast<int32_t>(i);
    const std::string& text = data.tokens[i];
    const TokenType type = data.token_types[i];
    id_of.try_emplace(text, id);
    if (is_literal_type(type)) {
      // Added tokens are matched byte-wise in text that is valid UTF-8; an invalid one could
      // split a character and break the regex's precondition.
      if (!utf8::is_valid(text)) fail("added token " + std::to_string(id) + " is not UTF-8");
      token_bytes[i] = text;
      if (type == TokenType::kControl) control_tokens.add(text, id);
      if (type == TokenType::kUserDefined) user_defined_tokens.add(text, id);
      continue;
    }
    // As Hugging Face's ByteLevel decoder: a token with a character outside the byte map
    // decodes to its literal text.
    std::optional<std::string> bytes = token_text_to_bytes(text);
    token_bytes[i] = bytes ? std::move(*bytes) : text;
  }
  for (unsigned byte = 0; byte < 256; ++byte) {
    std::string text;
    utf8::append(text, byte_to_unicode(static_cast<unsigned char>(byte)));
    const auto it = id_of.find(text);
    if (it != id_of.end()) byte_token[byte] = it->second;
  }
}

void Tokenizer::Impl::build_merges() {
  if (data.merges.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    fail("more than 2^31-1 merges");
  }
  const auto lookup = [&](std::string_view text, size_t rank) {
    const auto it = id_of.find(std::string(text));
    if (it == id_of.end()) {
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
    merges.add(left_id, right_id, lookup(std::string(left) + std::string(right), rank));
  }
}

void Tokenizer::Impl::encode_normalized(std::string_view text, std::vector<int32_t>& ids) const {
  std::vector<int32_t> symbols;
  BpeWorkspace workspace;
  const auto merge_piece = [&](std::string_view piece) {
    symbols.clear();
    for (const char c : piece) {
      // A byte without a token is dropped, as Hugging Face does without an unk token. NeoX
      // lacks only bytes that never occur in UTF-8.
      const int32_t id = byte_token[static_cast<unsigned char>(c)];
      if (id >= 0) symbols.push_back(id);
    }
    bpe_merge(symbols, merges, ids, workspace);
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
  user_defined_tokens.for_each(text, [&](const AddedTokenMatcher::Piece& piece) {
    if (piece.token_id >= 0) {
      ids.push_back(piece.token_id);
    } else {
      pretokenizer.for_each(piece.text, encode_word);
    }
  });
}

Tokenizer::Tokenizer(TokenizerData data, std::string source) : impl_(std::make_unique<Impl>()) {
  impl_->data = std::move(data);
  impl_->source = std::move(source);
  impl_->build_vocab();
  impl_->build_merges();
}

Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

std::vector<int32_t> Tokenizer::encode(std::string_view text) const {
  if (text.size() > kMaxInputBytes) {
    throw Error(impl_->source, "input of " + std::to_string(text.size()) +
                                   " bytes is too long to tokenize (limit 1 GiB)");
  }
  std::string repaired;
  if (!utf8::is_valid(text)) {
    repaired = utf8::replace_invalid(text);
    text = repaired;
  }
  std::vector<int32_t> ids;
  impl_->control_tokens.for_each(text, [&](const AddedTokenMatcher::Piece& piece) {
    if (piece.token_id >= 0) {
      ids.push_back(piece.token_id);
    } else {
      impl_->encode_normalized(to_nfc(piece.text), ids);
    }
  });
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
  std::string out;
  for (const int32_t id : ids) {
    if (id < 0 || id >= size()) {
      throw Error(impl_->source, "token id " + std::to_string(id) + " is out of range [0, " +
                                     std::to_string(size()) + ")");
    }
    out += impl_->token_bytes[static_cast<size_t>(id)];
  }
  return out;
}

const std::string& Tokenizer::token_text(int32_t id) const {
  if (id < 0 || id >= size()) {
    throw Error(impl_->source, "token id " + std::to_string(id) + " is out of range [0, " +
                                   std::to_string(size()) + ")");
  }
  return impl_->data.tokens[static_cast<size_t>(id)];
}

int32_t Tokenizer::size() const { return static_cast<int32_t>(impl_->data.tokens.size()); }
int32_t Tokenizer::bos_id() const { return impl_->data.bos_id; }
int32_t Tokenizer::eos_id() const { return impl_->data.eos_id; }
int32_t Tokenizer::pad_id() const { return impl_->data.pad_id; }

bool Tokenizer::is_control(int32_t id) const {
  return id >= 0 && id < size() &&
         impl_->data.token_types[static_cast<size_t>(id)] == TokenType::kControl;
}

const TokenizerData& Tokenizer::data() const { return impl_->data; }

}  // namespace mamba2
