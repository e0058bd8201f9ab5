// Session states keyed by the tokens they have consumed, so that a prompt extending a cached
// prefix resumes from its state and prefills only the rest (a chat's next turn costs only its
// new tokens). Bounded in bytes; the least recently used states go first. Not thread-safe: one
// thread uses it (a chat's turns), or a lock around it (the server's memory store). A state found
// is shared, so it stays valid after the cache drops it.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "mamba2/function_ref.h"
#include "mamba2/session.h"

namespace mamba2 {

class PrefixCache {
 public:
  explicit PrefixCache(int64_t max_bytes) : max_bytes_(max_bytes) {}

  // The state of the longest cached proper prefix of `tokens` longer than `min_length` tokens (at
  // least one token is left to run, whose logits start the reply) and its length; nullopt if none.
  struct Hit {
    std::shared_ptr<const SessionState> state;
    int64_t length;
  };
  std::optional<Hit> find(std::span<const int32_t> tokens, int64_t min_length = 0);

  // Keeps `state`, which has consumed exactly `tokens` (if that prefix is kept already, it only
  // becomes the most recently used). A state larger than the whole cache is not kept.
  void insert(std::span<const int32_t> tokens, const SessionState& state);
  // The same, keeping `state` itself (shared with the caller, who may not change it) instead of
  // a copy.
  void insert(std::span<const int32_t> tokens, std::shared_ptr<const SessionState> state);

  int64_t entries() const { return static_cast<int64_t>(entries_.size()); }
  // Every entry, the least recently used first (inserting them in this order rebuilds the cache).
  void visit(
      FunctionRef<void(std::span<const int32_t> tokens, const SessionState& state)> visit) const;
  int64_t bytes() const { return bytes_; }
  // The bytes a state of `tokens` takes in the cache.
  static int64_t entry_bytes(std::span<const int32_t> tokens, const SessionState& state);

 private:
  // Whether an entry of `tokens` and `state` may be kept: not empty, and not larger than the cache.
  bool keeps(std::span<const int32_t> tokens, const SessionState& state) const;

  struct Entry {
    std::vector<int32_t> tokens;
    std::shared_ptr<const SessionState> state;
    int64_t bytes;
  };
  std::list<Entry> entries_;  // most recently used first
  int64_t max_bytes_;
  int64_t bytes_ = 0;
};

}  // namespace mamba2
