#include "server/memory_state_store.h"

namespace mamba2::server {

std::optional<StoredState> MemoryStateStore::find(std::span<const int32_t> tokens,
                                                  int64_t min_length) {
  std::lock_guard lock(mutex_);
  std::optional<PrefixCache::Hit> hit = cache_.find(tokens, min_length);
  if (!hit) return std::nullopt;
  return StoredState{std::move(hit->state), hit->length};
}

void MemoryStateStore::put(std::span<const int32_t> tokens, const SessionState& state) {
  std::lock_guard lock(mutex_);
  cache_.insert(tokens, state);
}

void MemoryStateStore::put(std::span<const int32_t> tokens,
                           std::shared_ptr<const SessionState> state) {
  std::lock_guard lock(mutex_);
  cache_.insert(tokens, std::move(state));
}

StoreSize MemoryStateStore::size() const {
  std::lock_guard lock(mutex_);
  return {cache_.entries(), cache_.bytes()};
}

}  // namespace mamba2::server
