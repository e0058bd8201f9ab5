#include "runtime/tokenizer/bpe.h"

#include <queue>

namespace mamba2 {

void BpeMerges::add(int32_t left, int32_t right, int32_t result) {
  by_pair_.try_emplace(key(left, right), Merge{next_rank_, result});
  ++next_rank_;
}

const BpeMerges::Merge* BpeMerges::find(int32_t left, int32_t right) const {
  const auto it = by_pair_.find(key(left, right));
  return it == by_pair_.end() ? nullptr : &it->second;
}

namespace {

struct Symbol {
  int32_t id;
  int32_t prev;  // index of the previous live symbol, -1 at the start
  int32_t next;  // index of the next live symbol, -1 at the end
  bool alive;    // false once merged into its left neighbour
};

struct Candidate {
  int32_t rank;
  int32_t pos;  // index of the left symbol
  int32_t result;
  // std::priority_queue is a max-heap: "less" here means lower priority.
  bool operator<(const Candidate& other) const {
    if (rank != other.rank) return rank > other.rank;
    return pos > other.pos;
  }
};

}  // namespace

// The same procedure as Hugging Face tokenizers' Word::merge_all, including how it skips stale
// candidates (it compares only the merge result), so ties and odd vocabularies come out alike.
void bpe_merge(std::span<const int32_t> symbols, const BpeMerges& merges, std::vector<int32_t>& out,
               BpeCounters* counters) {
  const auto n = static_cast<int32_t>(symbols.size());
  if (n == 0) return;
  std::vector<Symbol> word(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) {
    word[static_cast<size_t>(i)] = {symbols[static_cast<size_t>(i)], i - 1, i + 1 < n ? i + 1 : -1,
                                    true};
  }

  std::vector<Candidate> storage;
  storage.reserve(static_cast<size_t>(n));
  std::priority_queue<Candidate> heap(std::less<Candidate>(), std::move(storage));
  BpeCounters local;
  BpeCounters& count = counters ? *counters : local;
  const auto push_pair = [&](int32_t left_pos) {
    const Symbol& left = word[static_cast<size_t>(left_pos)];
    if (left.next < 0) return;
    const BpeMerges::Merge* merge = merges.find(left.id, word[static_cast<size_t>(left.next)].id);
    if (!merge) return;
    heap.push({merge->rank, left_pos, merge->result});
    ++count.heap_pushes;
  };

  for (int32_t i = 0; i + 1 < n; ++i) push_pair(i);
  while (!heap.empty()) {
    const Candidate top = heap.top();
    heap.pop();
    ++count.heap_pops;
    Symbol& left = word[static_cast<size_t>(top.pos)];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = word[static_cast<size_t>(left.next)];
    const BpeMerges::Merge* current = merges.find(left.id, right.id);
    if (!current || current->result != top.result) continue;  // stale candidate

    left.id = top.result;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) word[static_cast<size_t>(right.next)].prev = top.pos;
    if (left.prev >= 0) push_pair(left.prev);
    push_pair(top.pos);
  }

  for (int32_t i = 0; i >= 0; i = word[static_cast<size_t>(i)].next) {
    out.push_back(word[static_cast<size_t>(i)].id);
  }
}

}  // namespace mamba2
