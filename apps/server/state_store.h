// Where prefix states live: one interface, three backends. The memory store (the default) is a
// byte-bounded LRU inside the process; the directory store keeps entries as files that survive a
// restart; the Redis store shares them among the replicas behind a load balancer. An entry is
// the state after a token prefix, looked up by the longest stored prefix of a prompt. A store
// that fails (a damaged file, Redis gone) logs and answers "nothing stored": the server goes on
// prefilling. Every store is safe to use from several threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "mamba2/session.h"

namespace mamba2::server {

struct StoredState {
  std::shared_ptr<const SessionState> state;
  int64_t length;  // tokens it has consumed: a prefix of the prompt looked up
};

struct StoreSize {
  int64_t entries = 0;
  int64_t bytes = 0;
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  // The state of the longest stored prefix of `tokens` longer than `min_length` tokens and
  // shorter than the whole (at least one token is left to run, whose logits start the reply);
  // nullopt if none.
  virtual std::optional<StoredState> find(std::span<const int32_t> tokens, int64_t min_length) = 0;

  // Keeps `state`, which has consumed exactly `tokens` (no-op if that prefix is stored already).
  virtual void put(std::span<const int32_t> tokens, const SessionState& state) = 0;

  virtual StoreSize size() const = 0;
  // Entries found unreadable or operations that failed, since the start.
  virtual int64_t errors() const { return 0; }
};

}  // namespace mamba2::server
