// The in-process store: the library's PrefixCache (states keyed by their tokens, bounded in
// bytes, the least recently used going first) behind a lock, for the scheduler and the HTTP
// threads that read its size.
#pragma once

#include <mutex>

#include "mamba2/prefix_cache.h"
#include "server/state_store.h"

namespace mamba2::server {

class MemoryStateStore final : public StateStore {
 public:
  explicit MemoryStateStore(int64_t max_bytes) : cache_(max_bytes) {}

  std::optional<StoredState> find(std::span<const int32_t> tokens, int64_t min_length) override;
  // A state larger than the whole store is not kept.
  void put(std::span<const int32_t> tokens, const SessionState& state) override;
  // The same, keeping `state` itself rather than a copy.
  void put(std::span<const int32_t> tokens, std::shared_ptr<const SessionState> state);
  StoreSize size() const override;

 private:
  mutable std::mutex mutex_;
  PrefixCache cache_;
};

}  // namespace mamba2::server
