// Finding and reading a tokenizer, whatever file holds it.
#pragma once

#include <filesystem>
#include <optional>

#include "mamba2/tokenizer_data.h"

namespace mamba2 {

// A tokenizer.json, a SentencePiece .model file (whatever its name) or a GGUF file's
// tokenizer.ggml.* keys (its weights are not read), told apart by their first bytes. Throws Error
// naming the file for anything else, and for a GGUF file without a vocabulary.
TokenizerData load_tokenizer_file(const std::filesystem::path& path);

// The tokenizer a checkpoint directory carries: the first of tokenizer.json, tokenizer.model and
// tokenizer.model.v3 (Mistral's name), with the chat_template of a tokenizer_config.json beside
// it; nullopt without a tokenizer file.
std::optional<TokenizerData> load_tokenizer_directory(const std::filesystem::path& dir);

}  // namespace mamba2
