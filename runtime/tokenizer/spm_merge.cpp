#include "runtime/tokenizer/spm_merge.h"

#include <algorithm>

namespace mamba2 {
namespace {

// Bytes of the character a lead byte starts, by its top four bits (llama.cpp's
// unicode_len_utf8): continuation bytes count as one, 0xF8..0xFF as four.
size_t char_length(unsigned char lead) {
  static constexpr unsigned char kLengths[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLengths[lead >> 4];
}

// Heap order: the highest score on top, then the leftmost pair.
bool below(const SpmWorkspace::Pair& a, const SpmWorkspace::Pair& b) {
  return a.score < b.score || (a.score == b.score && a.left > b.left);
}

}  // namespace

void SpmVocab::add(std::string text, float score) {
  max_bytes_ = std::max(max_bytes_, text.size());
  id_of_.try_emplace(std::move(text), static_cast<int32_t>(scores_.size()));
  scores_.push_back(score);
}

int32_t SpmVocab::find(std::string_view text) const {
  if (text.size() > max_bytes_) return -1;
  const auto it = id_of_.find(text);
  return it == id_of_.end() ? -1 : it->second;
}

int32_t SpmVocab::byte_token(unsigned char byte) const {
  return byte_token_[byte] >= 0 ? byte_token_[byte] : unk_id_;
}

void spm_merge(std::string_view text, const SpmVocab& vocab, std::vector<int32_t>& out,
               SpmWorkspace& workspace) {
  auto& symbols = workspace.symbols;
  auto& heap = workspace.heap;
  symbols.clear();
  heap.clear();
  for (size_t offset = 0; offset < text.size();) {
    const size_t length =
        std::min(char_length(static_cast<unsigned char>(text[offset])), text.size() - offset);
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back({static_cast<int32_t>(offset), static_cast<int32_t>(length), index - 1,
                       offset + length == text.size() ? -1 : index + 1});
    offset += length;
  }

  const auto queue_pair = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const SpmWorkspace::Symbol& a = symbols[static_cast<size_t>(left)];
    const int32_t length = a.length + symbols[static_cast<size_t>(right)].length;
    const int32_t id = vocab.find(text.substr(static_cast<size_t>(a.start), length));
    if (id < 0) return;
    heap.push_back({vocab.score(id), left, right, length});
    std::push_heap(heap.begin(), heap.end(), below);
  };
  for (int32_t i = 1; i < static_cast<int32_t>(symbols.size()); ++i) queue_pair(i - 1, i);

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), below);
    const SpmWorkspace::Pair pair = heap.back();
    heap.pop_back();
    SpmWorkspace::Symbol& left = symbols[static_cast<size_t>(pair.left)];
    SpmWorkspace::Symbol& right = symbols[static_cast<size_t>(pair.right)];
    // A pair queued before either symbol changed no longer spells the token it was queued for.
    if (left.length == 0 || right.length == 0 || left.length + right.length != pair.length) {
      continue;
    }
    left.length += right.length;
    right.length = 0;
    left.next = right.next;
    if (left.next >= 0) symbols[static_cast<size_t>(left.next)].prev = pair.left;
    queue_pair(left.prev, pair.left);
    queue_pair(pair.left, left.next);
  }

  for (int32_t i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[static_cast<size_t>(i)].next) {
    const SpmWorkspace::Symbol& symbol = symbols[static_cast<size_t>(i)];
    const std::string_view piece = text.substr(static_cast<size_t>(symbol.start), symbol.length);
    const int32_t id = vocab.find(piece);
    if (id >= 0) {
      out.push_back(id);
      continue;
    }
    for (const char c : piece) {
      const int32_t byte_id = vocab.byte_token(static_cast<unsigned char>(c));
      if (byte_id >= 0) out.push_back(byte_id);
    }
  }
}

}  // namespace mamba2
