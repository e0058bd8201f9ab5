#include "runtime/tokenizer/bpe.h"

#include <algorithm>

namespace mamba2 {
namespace {

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

// A 64-bit mixer (splitmix64's finalizer): pair keys are far from random in their low bits.
uint64_t mix(uint64_t key) {
  key ^= key >> 30;
  key *= 0xBF58476D1CE4E5B9ULL;
  key ^= key >> 27;
  key *= 0x94D049BB133111EBULL;
  return key ^ (key >> 31);
}

}  // namespace

void BpeMerges::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(std::max<size_t>(16, old.size() * 2), Slot{kEmpty, {}});
  const size_t mask = slots_.size() - 1;
  for (const Slot& slot : old) {
    if (slot.key == kEmpty) continue;
    size_t i = mix(slot.key) & mask;
    while (slots_[i].key != kEmpty) i = (i + 1) & mask;
    slots_[i] = slot;
  }
}

void BpeMerges::add(int32_t left, int32_t right, int32_t result) {
  if ((used_ + 1) * 2 > slots_.size()) grow();
  const uint64_t key = pair_key(left, right);
  const size_t mask = slots_.size() - 1;
  size_t i = mix(key) & mask;
  while (slots_[i].key != kEmpty && slots_[i].key != key) i = (i + 1) & mask;
  if (slots_[i].key == kEmpty) {
    slots_[i] = Slot{key, Merge{next_rank_, result}};
    ++used_;
  }
  ++next_rank_;
}

const BpeMerges::Merge* BpeMerges::find(int32_t left, int32_t right) const {
  if (slots_.empty()) return nullptr;
  const uint64_t key = pair_key(left, right);
  const size_t mask = slots_.size() - 1;
  for (size_t i = mix(key) & mask;; i = (i + 1) & mask) {
    if (slots_[i].key == key) return &slots_[i].merge;
    if (slots_[i].key == kEmpty) return nullptr;
  }
}

namespace {

using Candidate = BpeWorkspace::Candidate;

// Heap order: lowest rank first, then leftmost. std::push_heap builds a max-heap, so "less"
// means "merges later".
bool merges_later(const Candidate& a, const Candidate& b) {
  if (a.rank != b.rank) return a.rank > b.rank;
  return a.pos > b.pos;
}

}  // namespace

// The same procedure as Hugging Face tokenizers' Word::merge_all, including how it skips stale
// candidates (it compares only the merge result), so ties and odd vocabularies come out alike.
void bpe_merge(std::span<const int32_t> symbols, const BpeMerges& merges, std::vector<int32_t>& out,
               BpeWorkspace& workspace, BpeCounters* counters) {
  const auto n = static_cast<int32_t>(symbols.size());
  if (n == 0) return;
  if (n == 1) {
    out.push_back(symbols[0]);
    return;
  }
  auto& word = workspace.word;
  auto& heap = workspace.heap;
  word.resize(static_cast<size_t>(n));
  heap.clear();
  for (int32_t i = 0; i < n; ++i) {
    word[static_cast<size_t>(i)] = {symbols[static_cast<size_t>(i)], i - 1, i + 1 < n ? i + 1 : -1,
                                    true};
  }

  BpeCounters local;
  BpeCounters& count = counters ? *counters : local;
  const auto push_pair = [&](int32_t left_pos) {
    const BpeWorkspace::Symbol& left = word[static_cast<size_t>(left_pos)];
    if (left.next < 0) return;
    const BpeMerges::Merge* merge = merges.find(left.id, word[static_cast<size_t>(left.next)].id);
    if (!merge) return;
    heap.push_back({merge->rank, left_pos, merge->result});
    std::push_heap(heap.begin(), heap.end(), merges_later);
    ++count.heap_pushes;
  };

  for (int32_t i = 0; i + 1 < n; ++i) push_pair(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), merges_later);
    const Candidate top = heap.back();
    heap.pop_back();
    ++count.heap_pops;
    BpeWorkspace::Symbol& left = word[static_cast<size_t>(top.pos)];
    if (!left.alive || left.next < 0) continue;
    BpeWorkspace::Symbol& right = word[static_cast<size_t>(left.next)];
    const BpeMerges::Merge* current = merges.find(left.id, right.id);
    if (!current || current->result != top.result) continue;  // stale candidate

    left.id = top.result;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) word[static_cast<size_t>(right.next)].prev = top.pos;
    if (left.prev >= 0) push_pair(left.prev);
    push_pair(top.pos);
  }

  // Symbol 0 is never merged away: merges always keep the left symbol.
  for (int32_t i = 0; i >= 0; i = word[static_cast<size_t>(i)].next) {
    out.push_back(word[static_cast<size_t>(i)].id);
  }
}

void bpe_merge(std::span<const int32_t> symbols, const BpeMerges& merges, std::vector<int32_t>& out,
               BpeCounters* counters) {
  BpeWorkspace workspace;
  bpe_merge(symbols, merges, out, workspace, counters);
}

}  // namespace mamba2
