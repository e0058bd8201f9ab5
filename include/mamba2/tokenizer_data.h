// The vocabulary of a tokenizer as files carry it: GGUF's `tokenizer.ggml.*` keys, or a Hugging
// Face tokenizer.json or a SentencePiece .model file converted to the same form.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mamba2 {

// GGUF token types (llama.cpp's llama_token_type).
enum class TokenType : int32_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,      // special tokens: <|endoftext|>, <s>, [INST]
  kUserDefined = 4,  // added tokens matched in plain text: the NeoX space runs
  kUnused = 5,       // padding entries
  kByte = 6,         // SentencePiece byte fallback: <0x0A>
};

struct TokenizerData {
  // tokenizer.ggml.model: "gpt2" (byte-level BPE) or "llama" (SentencePiece).
  std::string model = "gpt2";
  std::string pre = "gpt-2";  // tokenizer.ggml.pre
  // id -> token text: GPT-2's byte-to-unicode form ("Ġworld"), or SentencePiece pieces with ▁
  // for a space ("▁world", "<0x0A>").
  std::vector<std::string> tokens;
  std::vector<TokenType> token_types;  // same length as tokens
  std::vector<std::string> merges;     // gpt2: "left right", lowest rank first
  std::vector<float> scores;           // llama: same length as tokens; the higher merges first
  int32_t bos_id = -1;
  int32_t eos_id = -1;
  int32_t pad_id = -1;
  int32_t unk_id = -1;
  // tokenizer.ggml.add_bos_token / add_eos_token, where the source says.
  std::optional<bool> add_bos;
  std::optional<bool> add_eos;
  // llama: tokenizer.ggml.add_space_prefix; absent means true, llama.cpp's default.
  std::optional<bool> add_space_prefix;
  // The chat template the model was published with (GGUF tokenizer.chat_template, Hugging Face
  // tokenizer_config.json chat_template), a Jinja text; "" for none.
  std::string chat_template;
  // llama: the bytes of the SentencePiece .model file the vocabulary was read from, if it was.
  // Encoding and decoding then go through the SentencePiece library, the reference; without it
  // (a GGUF file) they follow llama.cpp's own SPM algorithm over the fields above.
  std::string sentencepiece_model;
};

// The tokenizer of byte-level models trained from scratch: 256 tokens, id = byte value, each
// spelled by GPT-2's byte_to_unicode character, no merges, model "gpt2". A Tokenizer built from it
// encodes valid UTF-8 NFC text to exactly its bytes (the tokenizer repairs invalid UTF-8 to U+FFFD
// and NFC-normalises first, as for every GPT-2 style vocabulary). No BOS/EOS/PAD: the training text
// has no end-of-text token a byte model could learn, so generation stops on length or a stop
// string.
TokenizerData byte_level_tokenizer();

}  // namespace mamba2
