// The byte-level BPE tokenizer of the Mamba-2 checkpoints (GPT-NeoX-20B's), reproducing Hugging
// Face tokenizers exactly:
//   1. control tokens (<|endoftext|>, <|padding|>) are matched in the raw text;
//   2. every other piece is NFC-normalized, then user-defined added tokens (the NeoX runs of
//      2..24 spaces) are matched leftmost-longest in it;
//   3. the rest is split by the GPT-2 regex, mapped byte -> printable character, and merged by
//      BPE rank.
// A Tokenizer is built from a TokenizerData, which comes from a tokenizer.json
// (load_tokenizer_json) or from a GGUF file's tokenizer.ggml.* keys; both give the same ids.
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

class Tokenizer {
 public:
  // Validates the data (every merge part and result must be a token, ids in range, ...) and
  // builds the lookup tables once. `source` names the data in error messages (a file name).
  explicit Tokenizer(TokenizerData data, std::string source = "tokenizer");
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  // Text -> ids, adding no BOS/EOS. Literal control-token text becomes its id. Ill-formed UTF-8
  // is read as U+FFFD, like Python's errors="replace". Thread-safe.
  std::vector<int32_t> encode(std::string_view text) const;

  // Ids -> the bytes they spell (possibly a partial UTF-8 sequence at either end). Control and
  // user-defined tokens decode to their literal text. Throws Error for ids out of range.
  std::string decode(std::span<const int32_t> ids) const;

  // The token string as the vocabulary stores it (byte-level form, e.g. "Ġworld").
  const std::string& token_text(int32_t id) const;
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
// emoji is often 2-4 byte tokens). Bytes that can never form a character become U+FFFD.
class TokenStreamDecoder {
 public:
  explicit TokenStreamDecoder(const Tokenizer& tokenizer) : tokenizer_(&tokenizer) {}

  std::string push(int32_t id);  // throws Error for an id out of range
  std::string flush();           // what is held back, with an unfinished character as U+FFFD

 private:
  const Tokenizer* tokenizer_;
  std::string pending_;  // bytes not yet returned: at most an unfinished character
};

}  // namespace mamba2
