#include "server/tiered_state_cache.h"

namespace mamba2::server {

TieredStateCache::TieredStateCache(int64_t memory_bytes, std::unique_ptr<StateStore> shared)
    : memory_(memory_bytes),
      shared_(std::move(shared)),
      writer_(shared_ ? std::make_unique<StateWriter>(*shared_) : nullptr) {}

std::optional<TieredStateCache::Hit> TieredStateCache::find(std::span<const int32_t> tokens) {
  std::optional<StoredState> found = memory_.find(tokens, 0);
  if (shared_) {
    // Only a longer prefix than memory's is worth the shared store's read.
    if (auto longer = shared_->find(tokens, found ? found->length : 0)) {
      memory_.put(tokens.first(static_cast<size_t>(longer->length)), *longer->state);
      return Hit{std::move(longer->state), longer->length, true};
    }
  }
  if (!found) return std::nullopt;
  return Hit{std::move(found->state), found->length, false};
}

void TieredStateCache::insert(std::span<const int32_t> tokens, const SessionState& state,
                              std::function<void()> saved) {
  if (!writer_) {
    memory_.put(tokens, state);
    if (saved) saved();
    return;
  }
  // One copy for both tiers: the caller's session goes on to the next request.
  auto copy = std::make_shared<const SessionState>(state);
  memory_.put(tokens, copy);
  writer_->put({tokens.begin(), tokens.end()}, std::move(copy), std::move(saved));
}

}  // namespace mamba2::server
