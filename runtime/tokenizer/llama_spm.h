// A SentencePiece vocabulary as a GGUF file carries it (tokenizer.ggml.model = "llama": tokens,
// scores, token types), tokenized the way llama.cpp does (llama-vocab.cpp, the SPM branch), so a
// GGUF gives here the ids it gives there:
//   1. special-token partition: USER_DEFINED tokens (and CONTROL and UNKNOWN ones with
//      parse_special) are cut out of the text, longest first;
//   2. each text fragment that opens the text or follows a special token gets a space in front
//      (add_space_prefix), then every space becomes ▁;
//   3. the fragment is merged by score (spm_merge), with byte tokens where no token matches.
// Decoding follows llama_detokenize: ▁ is a space, <0xXX> its byte, control and unknown tokens
// are nothing, and the first token loses one leading space.
#pragma once

#include <string>
#include <vector>

#include "mamba2/tokenizer_data.h"
#include "runtime/tokenizer/special_token_split.h"
#include "runtime/tokenizer/spm_merge.h"
#include "runtime/tokenizer/tokenizer_model.h"

namespace mamba2 {

class LlamaSpm : public TokenizerModel {
 public:
  // Checks what llama.cpp relies on (one score per token, unique token texts, byte tokens
  // spelled <0xXX>) and builds the tables. Throws Error naming `source`.
  LlamaSpm(const TokenizerData& data, const std::string& source);

  void encode(std::string_view text, bool parse_special, std::vector<int32_t>& ids) const override;
  std::string decode(std::span<const int32_t> ids) const override;
  std::string decode_next(int32_t id, bool& at_start) const override;

 private:
  void encode_fragment(std::string_view text, bool space_prefix, std::vector<int32_t>& ids) const;

  SpmVocab vocab_;
  std::vector<std::string> pieces_;    // id -> what it decodes to (llama.cpp's token_to_piece)
  SpecialTokenSplitter user_defined_;  // always cut out
  SpecialTokenSplitter special_;       // with parse_special: also control and unknown tokens
  bool add_space_prefix_ = true;
};

}  // namespace mamba2
