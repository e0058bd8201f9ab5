#include "runtime/tokenizer/byte_unicode.h"

#include "runtime/tokenizer/utf8.h"

namespace mamba2 {
namespace {

bool stands_for_itself(unsigned byte) {
  return (byte >= 0x21 && byte <= 0x7E) || (byte >= 0xA1 && byte <= 0xAC) || byte >= 0xAE;
}

// Bytes that are not printable get U+0100, U+0101, ... in byte order.
const std::array<char32_t, 256>& byte_table() {
  static const std::array<char32_t, 256> table = [] {
    std::array<char32_t, 256> map{};
    char32_t next = 0x100;
    for (unsigned byte = 0; byte < 256; ++byte) {
      map[byte] = stands_for_itself(byte) ? byte : next++;
    }
    return map;
  }();
  return table;
}

}  // namespace

char32_t byte_to_unicode(unsigned char byte) { return byte_table()[byte]; }

std::optional<unsigned char> unicode_to_byte(char32_t codepoint) {
  // Every image is below U+0144 (256 + 68 non-printable bytes).
  if (codepoint < 0x100) {
    if (stands_for_itself(codepoint)) return static_cast<unsigned char>(codepoint);
    return std::nullopt;
  }
  static const std::array<int, 0x100> shifted = [] {
    std::array<int, 0x100> map;
    map.fill(-1);
    for (unsigned byte = 0; byte < 256; ++byte) {
      const char32_t cp = byte_table()[byte];
      if (cp >= 0x100) map[cp - 0x100] = static_cast<int>(byte);
    }
    return map;
  }();
  if (codepoint >= 0x200 || shifted[codepoint - 0x100] < 0) return std::nullopt;
  return static_cast<unsigned char>(shifted[codepoint - 0x100]);
}

std::string bytes_to_token_text(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char byte : bytes)
    utf8::append(out, byte_to_unicode(static_cast<unsigned char>(byte)));
  return out;
}

std::optional<std::string> token_text_to_bytes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    const utf8::Step step = utf8::decode_one(text.substr(pos));
    if (step.status != utf8::Status::kComplete) return std::nullopt;
    const std::optional<unsigned char> byte = unicode_to_byte(step.codepoint);
    if (!byte) return std::nullopt;
    out.push_back(static_cast<char>(*byte));
    pos += step.length;
  }
  return out;
}

}  // namespace mamba2
