// Text <-> token ids for every tokenizer a Mamba-2 model comes with, each matching its reference:
//   - byte-level BPE ("gpt2": GPT-NeoX-20B's, the Mamba-2 checkpoints'), as Hugging Face
//     tokenizers encodes it; from a tokenizer.json or a GGUF file;
//   - SentencePiece from a .model file (Mistral's tokenizer.model.v3, Mamba-Codestral's), through
//     the SentencePiece library itself;
//   - SentencePiece from a GGUF file ("llama": tokens, scores, token types), as llama.cpp
//     tokenizes it.
// A Tokenizer is built from a TokenizerData; the rest of the runtime does not care which kind.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mamba2/tokenizer_data.h"

namespace mamba2 {

// Reads a Hugging Face tokenizer.json with a byte-level BPE model. Throws Error naming the file
// for anything it cannot represent exactly (another model type, sparse ids, unknown merge parts).
// For the NeoX tokenizer: bos = eos = <|endoftext|>, pad = <|padding|>, pre = "olmo" (the value
// llama.cpp's converter writes for this tokenizer, whose hash it shares with MPT and OLMo).
TokenizerData load_tokenizer_json(const std::filesystem::path& path);

// Reads a SentencePiece .model file (tokenizer.model, tokenizer.model.v3) into the form llama.cpp's
// converter gives it in a GGUF file (model "llama", pieces, scores, token types; USER_DEFINED
// pieces become NORMAL, as there), keeping the file's bytes for the library. Throws Error naming
// the file for a truncated or foreign file or one the library refuses.
TokenizerData load_sentencepiece_model(const std::filesystem::path& path);

class Tokenizer {
 public:
  // Validates the data (ids in range, merges or scores that fit the tokens, ...) and builds the
  // lookup tables once. `source` names the data in error messages (a file name).
  explicit Tokenizer(TokenizerData data, std::string source = "tokenizer");
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  // Text -> ids, adding no BOS/EOS, as the reference does by default. Byte-level BPE: control-
  // token text becomes its id, ill-formed UTF-8 reads as U+FFFD (Python's errors="replace").
  // SentencePiece: control-token text is plain text (the library; llama.cpp with parse_special
  // false), ill-formed UTF-8 as the reference reads it. Thread-safe.
  std::vector<int32_t> encode(std::string_view text) const;
  // The same, except that the text of every control token becomes its id, and the text between
  // is encoded piece by piece (llama.cpp's parse_special = true). For SentencePiece each piece
  // then gets its own dummy-prefix space, as llama.cpp and mistral-common both do.
  std::vector<int32_t> encode_special(std::string_view text) const;

  // Ids -> the bytes they spell, as the reference decodes them (possibly a partial UTF-8
  // sequence at either end for byte-level BPE and GGUF SentencePiece). Byte-level BPE: control
  // and user-defined tokens give their literal text. SentencePiece: control tokens give nothing,
  // ▁ a space, <0xE2> its byte, and the text loses one leading space, the dummy prefix's (the
  // library: from the first piece that is no control token; llama.cpp: from the first token).
  // Throws Error for ids out of range.
  std::string decode(std::span<const int32_t> ids) const;
  // Decoding one id at a time (TokenStreamDecoder): the bytes `id` adds to decode() of the ids
  // before it. `at_start` starts true and is updated: it tells whether any text has begun.
  std::string decode_next(int32_t id, bool& at_start) const;

  // The token string as the vocabulary stores it ("Ġworld", "▁world", "<0x0A>").
  const std::string& token_text(int32_t id) const;
  // The id of the control token with this text ("[INST]"), or -1.
  int32_t control_id(std::string_view text) const;
  int32_t size() const;  // number of token ids
  int32_t bos_id() const;
  int32_t eos_id() const;
  int32_t pad_id() const;
  bool is_control(int32_t id) const;
  const TokenizerData& data() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Turns a stream of generated ids into text that is safe to print as it comes: it returns only
// whole UTF-8 characters and holds back a character whose bytes are split across tokens (an
// emoji is often 2-4 byte tokens). Bytes that can never form a character become U+FFFD. What it
// returns adds up to decode() of the ids, dummy-prefix rule included (where byte tokens spell no
// character, the SentencePiece library writes a U+FFFD per byte, this one per broken sequence).
class TokenStreamDecoder {
 public:
  explicit TokenStreamDecoder(const Tokenizer& tokenizer) : tokenizer_(&tokenizer) {}

  std::string push(int32_t id);  // throws Error for an id out of range
  std::string flush();           // what is held back, with an unfinished character as U+FFFD

 private:
  const Tokenizer* tokenizer_;
  std::string pending_;   // bytes not yet returned: at most an unfinished character
  bool at_start_ = true;  // no text yet (see Tokenizer::decode_next)
};

}  // namespace mamba2
