// A SentencePiece .model file encoded and decoded by the SentencePiece library itself, the
// reference for these files: Mistral's tokenizer.model.v3 gives exactly mistral-common's ids.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "mamba2/tokenizer_data.h"
#include "runtime/tokenizer/special_token_split.h"
#include "runtime/tokenizer/tokenizer_model.h"

namespace sentencepiece {
class SentencePieceProcessor;
}  // namespace sentencepiece

namespace mamba2 {

class SentencePieceLibrary : public TokenizerModel {
 public:
  // Loads data.sentencepiece_model and checks that the rest of `data` describes it. Throws
  // Error naming `source`.
  SentencePieceLibrary(const TokenizerData& data, const std::string& source);
  ~SentencePieceLibrary() override;

  // As SentencePieceProcessor::Encode: control-token text is plain text, USER_DEFINED pieces are
  // matched anywhere, ill-formed UTF-8 reads as one U+FFFD per bad byte. With parse_special,
  // control-token text is cut out first and each fragment encoded alone, so each gets its own
  // dummy prefix, as mistral-common encodes the text between control tokens.
  void encode(std::string_view text, bool parse_special, std::vector<int32_t>& ids) const override;
  // As SentencePieceProcessor::Decode.
  std::string decode(std::span<const int32_t> ids) const override;
  // The library's decoding rules, one token at a time: control tokens are nothing, the first
  // piece that is not one loses the ▁ of the dummy prefix, <0xXX> is its byte.
  std::string decode_next(int32_t id, bool& at_start) const override;

 private:
  [[noreturn]] void fail(const std::string& why) const;

  std::string source_;
  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
  std::vector<std::string> pieces_;  // id -> its text within a sequence (▁ as a space)
  std::vector<TokenType> types_;
  std::string unknown_surface_;     // what <unk> decodes to: " ⁇ " by default
  bool drops_dummy_prefix_ = true;  // the model adds a dummy prefix, which decoding drops
  SpecialTokenSplitter control_tokens_;
};

}  // namespace mamba2
