// GPT-2's reversible map between bytes and printable Unicode characters. Byte-level BPE
// vocabularies spell every token with these characters, so a space is stored as 'Ġ' (U+0120)
// and a newline as 'Ċ' (U+010A); printable Latin-1 bytes stand for themselves.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace mamba2 {

// byte -> the character that spells it in token strings.
char32_t byte_to_unicode(unsigned char byte);

// The character -> the byte it spells, or nothing for characters outside the map.
std::optional<unsigned char> unicode_to_byte(char32_t codepoint);

// The token string of raw bytes ("Hi there" -> "HiĠthere").
std::string bytes_to_token_text(std::string_view bytes);

// The bytes a token string spells; nothing when it contains a character outside the map (then
// the token is literal text, like the NeoX space-run tokens).
std::optional<std::string> token_text_to_bytes(std::string_view text);

}  // namespace mamba2
