// What each kind of tokenizer does behind the Tokenizer class: byte-level BPE, the SentencePiece
// library, llama.cpp's SPM algorithm. Tokenizer validates ids and input sizes before calling.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mamba2 {

class TokenizerModel {
 public:
  virtual ~TokenizerModel() = default;

  // Appends the ids of `text`. With `parse_special`, the text of a control token becomes its id
  // (llama.cpp's parse_special); without it, whatever the tokenizer's reference does by default.
  virtual void encode(std::string_view text, bool parse_special,
                      std::vector<int32_t>& ids) const = 0;

  // The bytes the ids spell, as the tokenizer's reference decodes a sequence.
  virtual std::string decode(std::span<const int32_t> ids) const = 0;

  // The bytes `id` adds to the decoding of the ids before it. `at_start` says that no text has
  // begun yet (where SentencePiece drops the space of its dummy prefix); the call updates it.
  virtual std::string decode_next(int32_t id, bool& at_start) const = 0;
};

}  // namespace mamba2
