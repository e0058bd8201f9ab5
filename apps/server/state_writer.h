// Saves states to a shared store (a directory or Redis, state_store.h) on a thread of its own, so
// the scheduler goes on decoding its other slots while a finished conversation's state is written.
// Each save's `saved` callback runs on the writer's thread once the store has the state (or has
// failed and logged why): the scheduler ends the reply there, so a client's next turn finds the
// state on any replica. Saves run in the order given; put() waits while kMaxPending are queued,
// which bounds the copies held.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "server/state_store.h"

namespace mamba2::server {

class StateWriter {
 public:
  static constexpr size_t kMaxPending = 4;

  // `store` outlives the writer.
  explicit StateWriter(StateStore& store);
  // Finishes every queued save, callbacks included.
  ~StateWriter();
  StateWriter(const StateWriter&) = delete;
  StateWriter& operator=(const StateWriter&) = delete;

  void put(std::vector<int32_t> tokens, std::shared_ptr<const SessionState> state,
           std::function<void()> saved);

 private:
  struct Save {
    std::vector<int32_t> tokens;
    std::shared_ptr<const SessionState> state;
    std::function<void()> saved;
  };

  void run();

  StateStore& store_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Save> queue_;  // guarded by mutex_
  bool stopping_ = false;   // guarded by mutex_
  std::jthread thread_;     // last: starts once the members it uses exist
};

}  // namespace mamba2::server
