// The byte-level BPE tokenizer of the Mamba-2 checkpoints (GPT-NeoX-20B's), reproducing Hugging
// Face tokenizers exactly:
//   1. control tokens (<|endoftext|>, <|padding|>) are matched in the raw text;
//   2. every other piece is NFC-normalized, then user-defined added tokens (the NeoX runs of
//      2..24 spaces) are matched leftmost-longest in it;
//   3. the rest is split by the GPT-2 regex, mapped byte -> printable character, and merged by
//      BPE rank.
#pragma once

#include <array>
#include <string>
#include <unordered_map>
#include <vector>

#include "mamba2/tokenizer_data.h"
#include "runtime/tokenizer/added_token_matcher.h"
#include "runtime/tokenizer/bpe.h"
#include "runtime/tokenizer/pretokenizer.h"
#include "runtime/tokenizer/tokenizer_model.h"

namespace mamba2 {

class ByteLevelBpe : public TokenizerModel {
 public:
  // Validates the merges and the pre-tokenizer name and builds the tables; `data` has passed
  // Tokenizer's common checks. Throws Error naming `source`.
  ByteLevelBpe(const TokenizerData& data, const std::string& source);

  // Control tokens are always matched, as Hugging Face does by default.
  void encode(std::string_view text, bool parse_special, std::vector<int32_t>& ids) const override;
  // Control and user-defined tokens decode to their literal text.
  std::string decode(std::span<const int32_t> ids) const override;
  std::string decode_next(int32_t id, bool& at_start) const override;

 private:
  [[noreturn]] void fail(const std::string& why) const;
  void build_vocab(const TokenizerData& data);
  void build_merges(const TokenizerData& data);
  void encode_normalized(std::string_view text, std::vector<int32_t>& ids) const;

  std::string source_;
  std::unordered_map<std::string, int32_t> id_of_;  // token text -> lowest id with that text
  std::vector<std::string> token_bytes_;            // id -> the bytes it decodes to
  std::array<int32_t, 256> byte_token_{};           // byte -> id of its one-character token, -1
  BpeMerges merges_;
  AddedTokenMatcher control_tokens_;       // matched in raw text
  AddedTokenMatcher user_defined_tokens_;  // matched in NFC text
  Gpt2PreTokenizer pretokenizer_;
};

}  // namespace mamba2
