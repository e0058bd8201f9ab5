#include "mamba2/prefix_cache.h"

#include <algorithm>

namespace mamba2 {

int64_t PrefixCache::entry_bytes(std::span<const int32_t> tokens, const SessionState& state) {
  return static_cast<int64_t>(tokens.size() * sizeof(int32_t) +
                              (state.conv.size() + state.ssm.size()) * sizeof(float));
}

std::optional<PrefixCache::Hit> PrefixCache::find(std::span<const int32_t> tokens,
                                                  int64_t min_length) {
  // A linear scan: the entries number in the tens (each holds a whole state), the comparisons
  // cost nothing beside a prefill.
  auto best = entries_.end();
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    const size_t n = it->tokens.size();
    if (n < tokens.size() && static_cast<int64_t>(n) > min_length &&
        (best == entries_.end() || n > best->tokens.size()) &&
        std::equal(it->tokens.begin(), it->tokens.end(), tokens.begin())) {
      best = it;
    }
  }
  if (best == entries_.end()) return std::nullopt;
  entries_.splice(entries_.begin(), entries_, best);
  return Hit{entries_.front().state, static_cast<int64_t>(entries_.front().tokens.size())};
}

bool PrefixCache::keeps(std::span<const int32_t> tokens, const SessionState& state) const {
  return !tokens.empty() && entry_bytes(tokens, state) <= max_bytes_;
}

void PrefixCache::insert(std::span<const int32_t> tokens, const SessionState& state) {
  if (keeps(tokens, state)) insert(tokens, std::make_shared<const SessionState>(state));
}

void PrefixCache::insert(std::span<const int32_t> tokens,
                         std::shared_ptr<const SessionState> state) {
  if (!keeps(tokens, *state)) return;
  const int64_t bytes = entry_bytes(tokens, *state);
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (std::ranges::equal(it->tokens, tokens)) {
      entries_.splice(entries_.begin(), entries_, it);  // these tokens have a state already
      return;
    }
  }
  while (bytes_ + bytes > max_bytes_) {
    bytes_ -= entries_.back().bytes;
    entries_.pop_back();
  }
  entries_.push_front(
      {std::vector<int32_t>(tokens.begin(), tokens.end()), std::move(state), bytes});
  bytes_ += bytes;
}

void PrefixCache::visit(
    FunctionRef<void(std::span<const int32_t> tokens, const SessionState& state)> visit) const {
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) visit(it->tokens, *it->state);
}

}  // namespace mamba2
