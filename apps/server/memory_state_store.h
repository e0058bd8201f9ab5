// The in-process store: states keyed by their tokens, bounded in bytes, the least recently used
// going first. A linear scan finds the longest prefix: the entries number in the tens (each
// holds a whole state), and the comparisons cost nothing beside a prefill.
#pragma once

#include <list>
#include <mutex>
#include <vector>

#include "server/state_store.h"

namespace mamba2::server {

class MemoryStateStore final : public StateStore {
 public:
  explicit MemoryStateStore(int64_t max_bytes) : max_bytes_(max_bytes) {}

  std::optional<StoredState> find(std::span<const int32_t> tokens, int64_t min_length) override;
  // A state larger than the whole store is not kept.
  void put(std::span<const int32_t> tokens, const SessionState& state) override;
  StoreSize size() const override;

 private:
  struct Entry {
    std::vector<int32_t> tokens;
    std::shared_ptr<const SessionState> state;
    int64_t bytes;
  };
  mutable std::mutex mutex_;
  std::list<Entry> entries_;  // most recently used first
  const int64_t max_bytes_;
  int64_t bytes_ = 0;
};

}  // namespace mamba2::server
