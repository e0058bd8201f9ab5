// UTF-8 decoding one sequence at a time, with the Unicode "maximal subpart" rule for ill-formed
// input: every maximal prefix of a would-be sequence that cannot be completed counts as one
// error, so replacing each error by U+FFFD gives the same text as Python, Rust and browsers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mamba2::utf8 {

inline constexpr char32_t kReplacement = 0xFFFD;

enum class Status {
  kComplete,    // a valid sequence of `length` bytes encoding `codepoint`
  kIncomplete,  // the text ends inside a sequence that more bytes could still complete
  kInvalid,     // `length` bytes (at least 1) that can never be part of a valid sequence
};

struct Step {
  Status status;
  size_t length;
  char32_t codepoint;
};

// Decodes the sequence that starts at text[0]; text must not be empty.
Step decode_one(std::string_view text);

// Appends the UTF-8 encoding of a Unicode scalar value.
void append(std::string& out, char32_t codepoint);

// True when the whole text is well-formed UTF-8.
bool is_valid(std::string_view text);

// The text with every ill-formed part replaced by U+FFFD (a trailing incomplete sequence too).
std::string replace_invalid(std::string_view text);

}  // namespace mamba2::utf8
