// Splits text into the pieces BPE works on, with the GPT-2 regex
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// compiled by PCRE2 in UTF mode. `\s` is spelled out as Unicode White_Space (what Oniguruma,
// the regex engine of Hugging Face tokenizers, matches): PCRE2's own `\s` misses U+0085.
#pragma once

#include <functional>
#include <memory>
#include <string_view>
#include <vector>

namespace mamba2 {

class Gpt2PreTokenizer {
 public:
  Gpt2PreTokenizer();  // compiles the pattern once; throws Error if PCRE2 cannot
  ~Gpt2PreTokenizer();
  Gpt2PreTokenizer(const Gpt2PreTokenizer&) = delete;
  Gpt2PreTokenizer& operator=(const Gpt2PreTokenizer&) = delete;

  // Calls visit(piece) for each piece in order; the pieces cover text exactly and point into it.
  // text must be valid UTF-8. Safe to call from several threads at once.
  void for_each(std::string_view text, const std::function<void(std::string_view)>& visit) const;
  std::vector<std::string_view> split(std::string_view text) const;  // the same, collected

 private:
  struct Compiled;
  std::unique_ptr<Compiled> compiled_;
};

}  // namespace mamba2
