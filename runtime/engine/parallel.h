// The thread context of a session: a TBB arena of a fixed size, and tiled loops whose tile
// boundaries depend only on the problem size, never on the thread count, so 1 and N threads give
// bit-identical results.
#pragma once

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cstdint>
#include <memory>

namespace mamba2 {

class Parallel {
 public:
  // threads <= 0: as many as TBB may use in this process.
  explicit Parallel(int threads);

  int threads() const { return threads_; }

  // Runs fn inside this context's arena; every parallel loop must run inside.
  template <class Fn>
  void execute(Fn&& fn) {
    if (arena_) {
      arena_->execute(fn);
    } else {
      fn();
    }
  }

  // Calls fn(begin, end) for the tiles [0, tile), [tile, 2 tile), ... of [0, n).
  template <class Fn>
  void for_tiles(int64_t n, int64_t tile, const Fn& fn) const {
    if (n <= 0) return;
    tile = std::max<int64_t>(tile, 1);
    const int64_t tiles = (n + tile - 1) / tile;
    auto run_tile = [&](int64_t index) { fn(index * tile, std::min(n, (index + 1) * tile)); };
    if (threads_ == 1 || tiles == 1) {
      for (int64_t index = 0; index < tiles; ++index) run_tile(index);
      return;
    }
    tbb::parallel_for(
        tbb::blocked_range<int64_t>(0, tiles, 1),
        [&](const tbb::blocked_range<int64_t>& range) {
          for (int64_t index = range.begin(); index < range.end(); ++index) run_tile(index);
        },
        tbb::simple_partitioner());
  }

 private:
  int threads_;
  std::unique_ptr<tbb::task_arena> arena_;  // null when single-threaded
};

}  // namespace mamba2
