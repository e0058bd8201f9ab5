// The threads the library may use: a TBB arena of a fixed size, made once by the caller and
// passed to everything that computes (model preparation, sessions, batch decoding, training).
// Copies share the arena, so any number of sessions may run in one context.
//
// Work is split into tiles whose boundaries depend only on the problem size, never on the thread
// count, so 1 and N threads give bit-identical results.
#pragma once

#include <cstdint>
#include <memory>

#include "mamba2/function_ref.h"

namespace mamba2 {

class ThreadingContext {
 public:
  // threads <= 0: as many as TBB may use in this process (every core by default).
  explicit ThreadingContext(int threads);
  ThreadingContext() : ThreadingContext(0) {}

  int threads() const { return threads_; }

  // Runs fn inside this context's arena; every parallel loop must run inside one.
  void execute(FunctionRef<void()> fn) const;

  // Calls fn(begin, end) for the tiles [0, tile), [tile, 2 tile), ... of [0, n), spread over the
  // arena's threads when called inside execute().
  void for_tiles(int64_t n, int64_t tile, FunctionRef<void(int64_t, int64_t)> fn) const;

 private:
  struct Arena;
  int threads_;
  std::shared_ptr<Arena> arena_;  // null when single-threaded
};

}  // namespace mamba2
