// Finds added tokens (<|endoftext|>, the NeoX space runs) in text the way Hugging Face does:
// leftmost-longest, so at the first position where any token starts, the longest one wins,
// and the scan resumes right after it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace mamba2 {

class AddedTokenMatcher {
 public:
  // A piece of the text: either plain text to tokenize further, or one added token.
  struct Piece {
    std::string_view text;
    int32_t token_id;  // -1 for plain text
  };

  void add(std::string_view text, int32_t token_id);  // empty texts are ignored
  bool empty() const { return nodes_.size() <= 1; }

  // Calls visit(piece) for the plain pieces and token pieces of text, in order; views point
  // into text.
  void for_each(std::string_view text, const std::function<void(const Piece&)>& visit) const;
  std::vector<Piece> split(std::string_view text) const;  // the same, collected

 private:
  // A byte trie; children are few per node, so a sorted small vector is enough.
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> children;
    int32_t token_id = -1;
  };
  int32_t child(int32_t node, unsigned char byte) const;
  // Length of the longest token starting at text[pos] (0 if none), and its id.
  size_t longest_at(std::string_view text, size_t pos, int32_t& token_id) const;

  std::vector<Node> nodes_ = std::vector<Node>(1);
  bool starts_[256] = {};  // first bytes of some token: lets split skip most positions at once
};

}  // namespace mamba2
