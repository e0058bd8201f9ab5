#include "runtime/tokenizer/nfc.h"

#include <utf8proc.h>

#include <cstdlib>
#include <memory>

#include "mamba2/error.h"

namespace mamba2 {
namespace {

// Bytes from 0xCC on lead characters from U+0300 (the first combining marks) upwards. Text
// without them is already NFC: nothing below U+0300 decomposes or combines.
bool may_change(unsigned char byte) { return byte >= 0xCC; }
bool is_ascii(unsigned char byte) { return byte < 0x80; }

std::string nfc_of_segment(std::string_view text) {
  utf8proc_uint8_t* mapped = nullptr;
  const utf8proc_ssize_t length =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                   static_cast<utf8proc_ssize_t>(text.size()), &mapped,
                   static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (length < 0) {
    throw Error("tokenizer", std::string("NFC normalization failed: ") + utf8proc_errmsg(length));
  }
  const std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owner(mapped, &std::free);
  return std::string(reinterpret_cast<const char*>(mapped), static_cast<size_t>(length));
}

}  // namespace

// NFC(a + b) = NFC(a) + NFC(b) when b starts with an ASCII character: ASCII characters never
// decompose, have combining class 0, and are never the second half of a composition. So only
// the stretches between ASCII characters that hold a character from U+0300 on go through
// utf8proc; prose with the odd curly quote is mostly copied.
std::string to_nfc(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t copied = 0;  // text[0, copied) is in out
  size_t pos = 0;
  while (pos < text.size()) {
    if (!may_change(static_cast<unsigned char>(text[pos]))) {
      ++pos;
      continue;
    }
    size_t start = pos;  // back to the last ASCII character, a safe boundary
    while (start > copied && !is_ascii(static_cast<unsigned char>(text[start]))) --start;
    size_t end = pos + 1;  // on to the next ASCII character
    while (end < text.size() && !is_ascii(static_cast<unsigned char>(text[end]))) ++end;
    out.append(text.substr(copied, start - copied));
    out += nfc_of_segment(text.substr(start, end - start));
    copied = end;
    pos = end;
  }
  out.append(text.substr(copied));
  return out;
}

}  // namespace mamba2
