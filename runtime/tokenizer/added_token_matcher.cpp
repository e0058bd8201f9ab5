#include "runtime/tokenizer/added_token_matcher.h"

#include <algorithm>

namespace mamba2 {

int32_t AddedTokenMatcher::child(int32_t node, unsigned char byte) const {
  const auto& children = nodes_[static_cast<size_t>(node)].children;
  const auto it =
      std::lower_bound(children.begin(), children.end(), byte,
                       [](const auto& entry, unsigned char b) { return entry.first < b; });
  return it != children.end() && it->first == byte ? it->second : -1;
}

void AddedTokenMatcher::add(std::string_view text, int32_t token_id) {
  if (text.empty()) return;
  int32_t node = 0;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    int32_t next = child(node, byte);
    if (next < 0) {
      next = static_cast<int32_t>(nodes_.size());
      nodes_.emplace_back();
      auto& children = nodes_[static_cast<size_t>(node)].children;
      const auto at =
          std::lower_bound(children.begin(), children.end(), byte,
                           [](const auto& entry, unsigned char b) { return entry.first < b; });
      children.insert(at, {byte, next});
    }
    node = next;
  }
  // The same text twice (a GGUF may repeat one): the first id keeps it, as a vocab map would.
  if (nodes_[static_cast<size_t>(node)].token_id < 0) {
    nodes_[static_cast<size_t>(node)].token_id = token_id;
  }
  starts_[static_cast<unsigned char>(text[0])] = true;
}

size_t AddedTokenMatcher::longest_at(std::string_view text, size_t pos, int32_t& token_id) const {
  size_t best = 0;
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    node = child(node, static_cast<unsigned char>(text[i]));
    if (node < 0) break;
    if (nodes_[static_cast<size_t>(node)].token_id >= 0) {
      best = i + 1 - pos;
      token_id = nodes_[static_cast<size_t>(node)].token_id;
    }
  }
  return best;
}

std::vector<AddedTokenMatcher::Piece> AddedTokenMatcher::split(std::string_view text) const {
  std::vector<Piece> pieces;
  for_each(text, [&](const Piece& piece) { pieces.push_back(piece); });
  return pieces;
}

void AddedTokenMatcher::for_each(std::string_view text,
                                 const std::function<void(const Piece&)>& visit) const {
  if (empty()) {
    if (!text.empty()) visit({text, -1});
    return;
  }
  size_t plain_start = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    if (!starts_[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    int32_t token_id = -1;
    const size_t length = longest_at(text, pos, token_id);
    if (length == 0) {
      ++pos;
      continue;
    }
    if (pos > plain_start) visit({text.substr(plain_start, pos - plain_start), -1});
    visit({text.substr(pos, length), token_id});
    pos += length;
    plain_start = pos;
  }
  if (plain_start < text.size()) visit({text.substr(plain_start), -1});
}

}  // namespace mamba2
