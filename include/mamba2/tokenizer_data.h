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
  std::string model = "gpt2";  // tokenizer.ggml.model
  std::string pre = "gpt-2";   // tokenizer.ggml.pre
  std::vector<std::string> tokens;     // id -> token text, in GPT-2 byte-to-unicode form
  std::vector<TokenType> token_types;  // same length as tokens
  std::vector<std::string> merges;     // "left right", lowest rank first
  int32_t bos_id = -1;
  int32_t eos_id = -1;
  int32_t pad_id = -1;
  int32_t unk_id = -1;
};

}  // namespace mamba2
