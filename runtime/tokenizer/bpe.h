// Byte-pair merging: repeatedly merge the adjacent pair of symbols whose merge has the lowest
// rank, leftmost first on ties. A min-heap of candidate merges over a linked list of symbols
// makes this O(n log n) in the word length, so a megabyte-long "word" is no hazard.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

namespace mamba2 {

class BpeMerges {
 public:
  struct Merge {
    int32_t rank;    // position in the merge list; lower merges first
    int32_t result;  // token id of the merged pair
  };

  // Merges are added in rank order. A repeated pair keeps its first (lowest) rank.
  void add(int32_t left, int32_t right, int32_t result);
  const Merge* find(int32_t left, int32_t right) const;
  size_t size() const { return next_rank_; }

 private:
  static uint64_t key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
           static_cast<uint32_t>(right);
  }
  std::unordered_map<uint64_t, Merge> by_pair_;
  int32_t next_rank_ = 0;
};

// Work done by one bpe_merge call, for tests that bound its complexity without timing it.
struct BpeCounters {
  uint64_t heap_pushes = 0;
  uint64_t heap_pops = 0;
};

// Merges the symbols (token ids) of one pre-token and appends the resulting ids to out.
void bpe_merge(std::span<const int32_t> symbols, const BpeMerges& merges, std::vector<int32_t>& out,
               BpeCounters* counters = nullptr);

}  // namespace mamba2
