// Unicode NFC, the normalizer of the GPT-NeoX tokenizer (and the one we always apply: GGUF files
// carry no normalizer, and every byte-level BPE tokenizer we load uses NFC or none).
#pragma once

#include <string>
#include <string_view>

namespace mamba2 {

// text must be valid UTF-8 (utf8::replace_invalid makes it so).
std::string to_nfc(std::string_view text);

}  // namespace mamba2
