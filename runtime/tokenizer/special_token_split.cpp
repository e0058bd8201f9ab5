#include "runtime/tokenizer/special_token_split.h"

#include <algorithm>

namespace mamba2 {

SpecialTokenSplitter::SpecialTokenSplitter(std::vector<Token> tokens) {
  std::erase_if(tokens, [](const Token& token) { return token.text.empty(); });
  std::stable_sort(tokens.begin(), tokens.end(),
                   [](const Token& a, const Token& b) { return a.text.size() > b.text.size(); });
  tokens_ = std::move(tokens);
  for (size_t index = 0; index < tokens_.size(); ++index) {
    int32_t node = 0;
    for (const char c : tokens_[index].text) {
      const auto byte = static_cast<unsigned char>(c);
      int32_t next = child(node, byte);
      if (next < 0) {
        next = static_cast<int32_t>(nodes_.size());
        auto& children = nodes_[static_cast<size_t>(node)].children;
        children.insert(std::lower_bound(children.begin(), children.end(), std::make_pair(byte, 0)),
                        {byte, next});
        nodes_.emplace_back();
      }
      node = next;
    }
    // A text given twice is cut out as the first of them; the other never occurs.
    if (nodes_[static_cast<size_t>(node)].token < 0) {
      nodes_[static_cast<size_t>(node)].token = static_cast<int32_t>(index);
    }
  }
}

int32_t SpecialTokenSplitter::child(int32_t node, unsigned char byte) const {
  const auto& children = nodes_[static_cast<size_t>(node)].children;
  const auto it = std::lower_bound(children.begin(), children.end(), std::make_pair(byte, 0));
  return it != children.end() && it->first == byte ? it->second : -1;
}

std::vector<bool> SpecialTokenSplitter::occurring(std::string_view text) const {
  std::vector<bool> found(tokens_.size(), false);
  for (size_t start = 0; start < text.size(); ++start) {
    int32_t node = 0;
    for (size_t i = start; i < text.size(); ++i) {
      node = child(node, static_cast<unsigned char>(text[i]));
      if (node < 0) break;
      const int32_t token = nodes_[static_cast<size_t>(node)].token;
      if (token >= 0) found[static_cast<size_t>(token)] = true;
    }
  }
  return found;
}

std::vector<SpecialTokenSplitter::Fragment> SpecialTokenSplitter::split(
    std::string_view text) const {
  std::vector<Fragment> fragments;
  if (text.empty()) return fragments;
  fragments.push_back({text, -1});
  if (tokens_.empty()) return fragments;
  const std::vector<bool> found = occurring(text);
  std::vector<Fragment> next;
  for (size_t t = 0; t < tokens_.size(); ++t) {
    if (!found[t]) continue;
    const Token& token = tokens_[t];
    next.clear();
    for (const Fragment& fragment : fragments) {
      if (fragment.token_id >= 0) {
        next.push_back(fragment);
        continue;
      }
      std::string_view rest = fragment.text;
      for (size_t match; (match = rest.find(token.text)) != std::string_view::npos;) {
        if (match > 0) next.push_back({rest.substr(0, match), -1});
        next.push_back({rest.substr(match, token.text.size()), token.id});
        rest.remove_prefix(match + token.text.size());
      }
      if (!rest.empty()) next.push_back({rest, -1});
    }
    fragments.swap(next);
  }
  return fragments;
}

}  // namespace mamba2
