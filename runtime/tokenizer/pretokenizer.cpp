#define PCRE2_CODE_UNIT_WIDTH 8
#include "runtime/tokenizer/pretokenizer.h"

#include <pcre2.h>

#include <string>

#include "mamba2/error.h"

namespace mamba2 {
namespace {

// Unicode White_Space: the C0 spaces, NEL, and the Zs/Zl/Zp characters.
#define MAMBA2_WHITE_SPACE                                                                 \
  "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}" \
  "\\x{202F}\\x{205F}\\x{3000}"

constexpr const char* kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d"
    "| ?\\p{L}+"
    "| ?\\p{N}+"
    "| ?[^" MAMBA2_WHITE_SPACE
    "\\p{L}\\p{N}]+"
    "|[" MAMBA2_WHITE_SPACE "]+(?![^" MAMBA2_WHITE_SPACE
    "])"
    "|[" MAMBA2_WHITE_SPACE "]+";

#undef MAMBA2_WHITE_SPACE

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof buffer);
  return reinterpret_cast<const char*>(buffer);
}

struct MatchData {
  explicit MatchData(const pcre2_code* code)
      : data(pcre2_match_data_create_from_pattern(code, nullptr)) {
    if (!data) throw Error("tokenizer", "out of memory for PCRE2 match data");
  }
  ~MatchData() { pcre2_match_data_free(data); }
  MatchData(const MatchData&) = delete;
  MatchData& operator=(const MatchData&) = delete;
  pcre2_match_data* data;
};

}  // namespace

struct Gpt2PreTokenizer::Compiled {
  pcre2_code* code = nullptr;
  ~Compiled() { pcre2_code_free(code); }
};

Gpt2PreTokenizer::Gpt2PreTokenizer() : compiled_(std::make_unique<Compiled>()) {
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  compiled_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kGpt2Pattern), PCRE2_ZERO_TERMINATED,
                                  PCRE2_UTF | PCRE2_UCP, &error_code, &error_offset, nullptr);
  if (!compiled_->code) {
    throw Error("tokenizer",
                "cannot compile the GPT-2 pre-tokenizer pattern: " + pcre2_message(error_code));
  }
  // The JIT is only faster; without it (no JIT support on this CPU) the interpreter is used.
  pcre2_jit_compile(compiled_->code, PCRE2_JIT_COMPLETE);
}

Gpt2PreTokenizer::~Gpt2PreTokenizer() = default;

std::vector<std::string_view> Gpt2PreTokenizer::split(std::string_view text) const {
  std::vector<std::string_view> pieces;
  for_each(text, [&](std::string_view piece) { pieces.push_back(piece); });
  return pieces;
}

void Gpt2PreTokenizer::for_each(std::string_view text,
                                const std::function<void(std::string_view)>& visit) const {
  if (text.empty()) return;
  const MatchData match(compiled_->code);
  const auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;
  while (pos < text.size()) {
    // NO_UTF_CHECK: the caller validated the text once; PCRE2 would otherwise re-check the
    // whole subject on every call, which makes splitting quadratic.
    const int found = pcre2_match(compiled_->code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK,
                                  match.data, nullptr);
    if (found == PCRE2_ERROR_NOMATCH) break;  // cannot happen: the alternatives cover every char
    if (found < 0) {
      throw Error("tokenizer", "pre-tokenizer regex failed: " + pcre2_message(found));
    }
    const PCRE2_SIZE* offsets = pcre2_get_ovector_pointer(match.data);
    const size_t start = offsets[0];
    const size_t end = offsets[1];
    if (start > pos) visit(text.substr(pos, start - pos));
    if (end <= start) break;  // an empty match would loop forever; no alternative allows one
    visit(text.substr(start, end - start));
    pos = end;
  }
  if (pos < text.size()) visit(text.substr(pos));
}

}  // namespace mamba2
