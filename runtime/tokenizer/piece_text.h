// How SentencePiece vocabularies spell text in their pieces: a space is ▁ (U+2581), and a byte
// without a piece of its own is the byte token "<0xE2>".
#pragma once

#include <string>
#include <string_view>

namespace mamba2::piece_text {

inline constexpr std::string_view kSpace = "\xE2\x96\x81";

// Every ' ' as ▁, with one more ▁ in front when `space_prefix` (the dummy prefix).
std::string escape_spaces(std::string_view text, bool space_prefix);
// Every ▁ as ' '.
std::string unescape_spaces(std::string_view piece);

// The byte a byte token's text names ("<0x0A>" -> 10; either case of hex digit), or -1.
int byte_of(std::string_view text);
// The byte token's text for a byte, in llama.cpp's spelling: "<0x0A>".
std::string byte_token_text(unsigned char byte);

}  // namespace mamba2::piece_text
