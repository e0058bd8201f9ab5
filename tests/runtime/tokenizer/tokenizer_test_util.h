// The NeoX tokenizer and the llama.cpp-format test vectors in shared/data, for tokenizer tests.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "mamba2/tokenizer.h"

namespace mamba2::testing {

struct TokenizerCase {
  std::string text;
  std::vector<int32_t> ids;
};

// shared/data/gpt-neox-20b-tokenizer.json
std::filesystem::path neox_tokenizer_path();
// Loaded once per test binary.
const Tokenizer& neox_tokenizer();

// Mistral's v3 SentencePiece tokenizer as the .model file gives it (the library), as
// llama.cpp's converter put it in a GGUF file (llama.cpp's algorithm), and llama.cpp's own
// Llama 2 SPM test vocabulary (shared/data/tokenizer-tests/ggml-vocab-llama-spm.gguf).
std::filesystem::path mistral_model_path();
std::filesystem::path mistral_gguf_path();
const Tokenizer& mistral_model_tokenizer();
const Tokenizer& mistral_gguf_tokenizer();
const Tokenizer& llama_spm_tokenizer();

// The names of the NeoX vector pairs: "llamacpp-neox", "ggml-prompts-neox", "extra-neox".
const std::vector<std::string>& vector_set_names();
// The text with control bytes written as \x0A, for failure messages.
std::string printable(const std::string& text);

// <name>.inp split on "\n__ggml_vocab_test__\n" (read as bytes), paired with <name>.out lines.
std::vector<TokenizerCase> read_vector_set(const std::string& name);

}  // namespace mamba2::testing
