// A tokenizer's vocabulary as GGUF metadata (tokenizer.ggml.*), read and written the way
// llama.cpp's loader and converter do: byte-level BPE ("gpt2": tokens, token types, merges) and
// SentencePiece ("llama": tokens, scores, token types).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "mamba2/tokenizer_data.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/gguf_writer.h"

namespace mamba2 {

// The vocabulary in `file`, or nullopt when it has none (no tokenizer.ggml.model, or "none").
// `max_tokens` bounds its size (a model's embedding rows; -1 for a vocabulary-only file).
// Throws Error naming the file and the key for a malformed or inconsistent vocabulary.
std::optional<TokenizerData> read_gguf_tokenizer(const GgufFile& file, int64_t max_tokens = -1);

// Adds the vocabulary's keys, padded to `vocab_padded` tokens with unused "[PAD<i>]" entries
// as llama.cpp's converter pads it (one token per embedding row). `where` names the output.
void write_gguf_tokenizer(GgufWriter& out, const TokenizerData& tok, int64_t vocab_padded,
                          const std::string& where);

}  // namespace mamba2
