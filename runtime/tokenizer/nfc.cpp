#include "runtime/tokenizer/nfc.h"

#include <utf8proc.h>

#include <algorithm>
#include <vector>

#include "mamba2/error.h"
#include "runtime/tokenizer/utf8.h"

namespace mamba2 {
namespace {

// Bytes from 0xCC on lead characters from U+0300 (the first combining marks) upwards. Text
// without them is already NFC: nothing below U+0300 decomposes or combines.
bool may_change(unsigned char byte) { return byte >= 0xCC; }
bool is_ascii(unsigned char byte) { return byte < 0x80; }

// The options utf8proc_map uses for NFC; we run its three steps ourselves (below).
constexpr auto kNfcOptions = static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE);

utf8proc_propval_t combining_class(utf8proc_int32_t codepoint) {
  return utf8proc_get_property(codepoint)->combining_class;
}

[[noreturn]] void fail(utf8proc_ssize_t code) {
  throw Error("tokenizer", std::string("NFC normalization failed: ") + utf8proc_errmsg(code));
}

// NFC is decompose, put every run of combining marks in canonical order, compose. utf8proc_map
// does the ordering with an insertion sort, quadratic in the length of a run of marks: one
// "e" followed by a megabyte of alternating U+0327 U+0301 took over ten minutes. So we
// decompose character by character, order each run with a stable sort by combining class (the
// same order the insertion sort gives), and leave only the linear composition to utf8proc.
std::string nfc_of_segment(std::string_view text) {
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  std::vector<utf8proc_int32_t> codepoints;
  codepoints.reserve(text.size() + 1);
  // Canonical decompositions are at most 4 code points (Hangul syllables 3); 32 is ample.
  utf8proc_int32_t parts[32];
  size_t pos = 0;
  while (pos < text.size()) {
    utf8proc_int32_t codepoint = 0;
    const utf8proc_ssize_t used =
        utf8proc_iterate(bytes + pos, static_cast<utf8proc_ssize_t>(text.size() - pos), &codepoint);
    if (used <= 0) fail(used < 0 ? used : UTF8PROC_ERROR_INVALIDUTF8);
    pos += static_cast<size_t>(used);
    const utf8proc_ssize_t count =
        utf8proc_decompose_char(codepoint, parts, std::size(parts), kNfcOptions, nullptr);
    if (count < 0) fail(count);
    if (count > static_cast<utf8proc_ssize_t>(std::size(parts))) fail(UTF8PROC_ERROR_OVERFLOW);
    codepoints.insert(codepoints.end(), parts, parts + count);
  }

  for (size_t start = 0; start < codepoints.size();) {
    if (combining_class(codepoints[start]) == 0) {
      ++start;
      continue;
    }
    size_t end = start + 1;
    while (end < codepoints.size() && combining_class(codepoints[end]) != 0) ++end;
    if (end - start > 1) {
      std::stable_sort(codepoints.begin() + static_cast<std::ptrdiff_t>(start),
                       codepoints.begin() + static_cast<std::ptrdiff_t>(end),
                       [](utf8proc_int32_t a, utf8proc_int32_t b) {
                         return combining_class(a) < combining_class(b);
                       });
    }
    start = end;
  }

  const utf8proc_ssize_t length = utf8proc_normalize_utf32(
      codepoints.data(), static_cast<utf8proc_ssize_t>(codepoints.size()), kNfcOptions);
  if (length < 0) fail(length);
  std::string out;
  out.reserve(text.size());
  for (utf8proc_ssize_t i = 0; i < length; ++i) {
    utf8::append(out, static_cast<char32_t>(codepoints[static_cast<size_t>(i)]));
  }
  return out;
}

}  // namespace

// NFC(a + b) = NFC(a) + NFC(b) when b starts with an ASCII character: ASCII characters never
// decompose, have combining class 0, and are never the second half of a composition. So only
// the stretches between ASCII characters that hold a character from U+0300 on are normalized;
// prose with the odd curly quote is mostly copied.
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
