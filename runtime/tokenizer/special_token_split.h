// llama.cpp's special-token partition (tokenizer_st_partition in llama-vocab.cpp), written anew:
// the candidate tokens are taken longest text first, and each is cut out of the text fragments
// the ones before it left, at every occurrence from left to right. This is not leftmost-longest:
// with tokens "ab" and "bcd", "abcd" becomes "a" [bcd].
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mamba2 {

class SpecialTokenSplitter {
 public:
  struct Fragment {
    std::string_view text;  // points into the text split
    int32_t token_id;       // -1 for plain text
  };

  struct Token {
    std::string text;
    int32_t id;
  };

  SpecialTokenSplitter() = default;
  // Empty texts are ignored. Equal lengths keep the order given (llama.cpp's std::sort leaves
  // that order unspecified; it matters only for two equally long tokens that overlap in text).
  explicit SpecialTokenSplitter(std::vector<Token> tokens);
  bool empty() const { return tokens_.empty(); }

  // The text as plain fragments and tokens, in order; no fragment is empty.
  std::vector<Fragment> split(std::string_view text) const;

 private:
  // A byte trie over the token texts finds which tokens occur in a text at all, so a long text
  // is scanned once per token that is in it, not once per token of a large vocabulary.
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> children;  // sorted by byte
    int32_t token = -1;                                       // index into tokens_
  };
  int32_t child(int32_t node, unsigned char byte) const;
  std::vector<bool> occurring(std::string_view text) const;

  std::vector<Token> tokens_;  // longest first
  std::vector<Node> nodes_ = std::vector<Node>(1);
};

}  // namespace mamba2
