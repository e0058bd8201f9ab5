#include "server/tiered_state_cache.h"

namespace mamba2::server {

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

void TieredStateCache::insert(std::span<const int32_t> tokens, const SessionState& state) {
  memory_.put(tokens, state);
  if (shared_) shared_->put(tokens, state);
}

}  // namespace mamba2::server
