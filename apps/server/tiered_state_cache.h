// Session states keyed by the tokens they have consumed, so that a prompt extending a cached
// prefix resumes from its state and prefills only the rest (a chat's next turn costs only its
// new tokens). Two tiers: the in-process memory store (bounded by --cache-mem, LRU), and
// optionally a shared store behind it (a directory or Redis, state_store.h) that outlives the
// process and is shared with other replicas. A lookup takes the longer of the two tiers' hits
// and keeps a shared hit in memory for the turns that follow; a state is saved to both, to the
// shared store on a writer thread of its own (state_writer.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>

#include "server/memory_state_store.h"
#include "server/state_store.h"
#include "server/state_writer.h"

namespace mamba2::server {

class TieredStateCache {
 public:
  // `shared` may be null: memory alone.
  explicit TieredStateCache(int64_t memory_bytes, std::unique_ptr<StateStore> shared = nullptr);

  // The state of the longest cached proper prefix of `tokens` (at least one token is left to
  // run, whose logits start the reply) and its length; nullopt if none.
  struct Hit {
    std::shared_ptr<const SessionState> state;
    int64_t length;
    bool from_shared;  // the shared store had it, longer than memory's
  };
  std::optional<Hit> find(std::span<const int32_t> tokens);

  // Keeps `state`, which has consumed exactly `tokens`: in memory at once, and in the shared store
  // on the writer's thread. `saved` (may be empty) runs once both have it: at once without a
  // shared store, else on the writer's thread.
  void insert(std::span<const int32_t> tokens, const SessionState& state,
              std::function<void()> saved = {});

  StoreSize memory_size() const { return memory_.size(); }
  bool has_shared() const { return shared_ != nullptr; }
  StoreSize shared_size() const { return shared_ ? shared_->size() : StoreSize{}; }
  int64_t shared_errors() const { return shared_ ? shared_->errors() : 0; }

 private:
  MemoryStateStore memory_;
  std::unique_ptr<StateStore> shared_;
  std::unique_ptr<StateWriter> writer_;  // with shared_; after it, so it finishes first
};

}  // namespace mamba2::server
