// Byte-pair merging: repeatedly merge the adjacent pair of symbols whose merge has the lowest
// rank, leftmost first on ties. A min-heap of candidate merges over a linked list of symbols
// makes this O(n log n) in the word length, so a megabyte-long "word" is no hazard.
#pragma once

#include <cstdint>
#include <span>
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
  size_t size() const { return static_cast<size_t>(next_rank_); }

 private:
  // Open addressing with linear probing: lookups are the inner loop of encoding, and a
  // node-based std::unordered_map spent a third of the time chasing pointers.
  struct Slot {
    uint64_t key;  // kEmpty or (left << 32 | right)
    Merge merge;
  };
  static constexpr uint64_t kEmpty = ~uint64_t{0};  // ids are >= 0, so no pair has this key
  void grow();
  std::vector<Slot> slots_;  // size a power of two, at most half full
  size_t used_ = 0;
  int32_t next_rank_ = 0;
};

// Work done by one bpe_merge call, for tests that bound its complexity without timing it.
struct BpeCounters {
  uint64_t heap_pushes = 0;
  uint64_t heap_pops = 0;
};

// Buffers bpe_merge reuses from word to word; one per thread.
struct BpeWorkspace {
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
  };
  std::vector<Symbol> word;
  std::vector<Candidate> heap;
};

// Merges the symbols (token ids) of one pre-token and appends the resulting ids to out.
void bpe_merge(std::span<const int32_t> symbols, const BpeMerges& merges, std::vector<int32_t>& out,
               BpeWorkspace& workspace, BpeCounters* counters = nullptr);
void bpe_merge(std::span<const int32_t> symbols, const BpeMerges& merges, std::vector<int32_t>& out,
               BpeCounters* counters = nullptr);

}  // namespace mamba2
