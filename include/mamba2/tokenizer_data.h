// The vocabulary of a byte-level BPE tokenizer as files carry it: GGUF's `tokenizer.ggml.*`
// keys, or a Hugging Face tokenizer.json converted to the same form.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mamba2 {

// GGUF token types (llama.cpp's llama_token_type).
enum class TokenType : int32_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,      // special tokens matched in raw text: <|endoftext|>
  kUserDefined = 4,  // added tokens matched after normalization: the NeoX space runs
  kUnused = 5,       // padding entries
  kByte = 6,
};

struct TokenizerData {
  std::string model = "gpt2";          // tokenizer.ggml.model
  std::string pre = "gpt-2";           // tokenizer.ggml.pre
  std::vector<std::string> tokens;     // id -> token text, in GPT-2 byte-to-unicode form
  std::vector<TokenType> token_types;  // same length as tokens
  std::vector<std::string> merges;     // "left right", lowest rank first
  int32_t bos_id = -1;
  int32_t eos_id = -1;
  int32_t pad_id = -1;
  int32_t unk_id = -1;
};

// The tokenizer of byte-level models trained from scratch: 256 tokens, id = byte value, each
// spelled by GPT-2's byte_to_unicode character, no merges, model "gpt2". A Tokenizer built from it
// encodes valid UTF-8 NFC text to exactly its bytes (the tokenizer repairs invalid UTF-8 to U+FFFD
// and NFC-normalises first, as for every GPT-2 style vocabulary). No BOS/EOS/PAD: the training text
// has no end-of-text token a byte model could learn, so generation stops on length or a stop
// string.
TokenizerData byte_level_tokenizer();

}  // namespace mamba2
