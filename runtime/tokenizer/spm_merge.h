// llama.cpp's SentencePiece merge (llm_tokenizer_spm in llama-vocab.cpp), written anew: start
// from the UTF-8 characters of the text, repeatedly merge the adjacent pair whose concatenation
// is a token with the highest score (the leftmost pair on equal scores), then emit each symbol
// as its token, or as byte tokens <0xXX> when it is none. A heap of candidate pairs over a
// linked list of symbols makes this O(n log n) in the text length.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mamba2 {

class SpmVocab {
 public:
  // Tokens are added in id order with their score; a text added twice keeps its first id.
  void add(std::string text, float score);
  // Byte b becomes `id` when a symbol is no token; without one, `unk_id` (-1: dropped).
  void set_byte_token(unsigned char byte, int32_t id) { byte_token_[byte] = id; }
  void set_unk(int32_t unk_id) { unk_id_ = unk_id; }

  int32_t find(std::string_view text) const;  // -1 for no token
  float score(int32_t id) const { return scores_[static_cast<size_t>(id)]; }
  int32_t byte_token(unsigned char byte) const;

 private:
  // Lookups of slices of the text without building a std::string each time.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };
  std::unordered_map<std::string, int32_t, Hash, std::equal_to<>> id_of_;
  std::vector<float> scores_;
  std::array<int32_t, 256> byte_token_ = filled(-1);
  int32_t unk_id_ = -1;
  size_t max_bytes_ = 0;  // longest token: longer pairs need no lookup

  static std::array<int32_t, 256> filled(int32_t value) {
    std::array<int32_t, 256> array;
    array.fill(value);
    return array;
  }
};

// Buffers spm_merge reuses from call to call; one per thread.
struct SpmWorkspace {
  struct Symbol {
    int32_t start;   // byte offset in the text
    int32_t length;  // 0 once merged into its left neighbour
    int32_t prev;    // index of the previous live symbol, -1 at the start
    int32_t next;    // index of the next live symbol, -1 at the end
  };
  struct Pair {
    float score;
    int32_t left;  // symbol indices
    int32_t right;
    int32_t length;  // bytes of the merged pair when it was queued: stale if the symbols changed
  };
  std::vector<Symbol> symbols;
  std::vector<Pair> heap;
};

// Appends the ids of `text` (spaces already escaped as ▁); text.size() must fit in int32_t.
// Bytes are split into characters by their lead byte alone, as llama.cpp does, so ill-formed
// UTF-8 gives the same ids as there.
void spm_merge(std::string_view text, const SpmVocab& vocab, std::vector<int32_t>& out,
               SpmWorkspace& workspace);

}  // namespace mamba2
