#include "mamba2/threading_context.h"

#include <tbb/blocked_range.h>
#include <tbb/info.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/threading/plain_threads.h"

namespace mamba2 {
namespace {

using threading_detail::kPlainThreads;

#if defined(__SANITIZE_THREAD__)
// See plain_threads.h: the tiles on as many plain threads, which TSan follows.
void run_tiles_in_parallel(int threads, int64_t tiles, FunctionRef<void(int64_t)> run_tile) {
  std::atomic<int64_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto work = [&] {
    try {
      for (int64_t index = next++; index < tiles; index = next++) run_tile(index);
    } catch (...) {
      const std::lock_guard lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      next = tiles;
    }
  };
  {
    std::vector<std::jthread> helpers;
    for (int64_t i = 1; i < std::min<int64_t>(threads, tiles); ++i) helpers.emplace_back(work);
    work();
  }
  if (failure) std::rethrow_exception(failure);
}
#else
void run_tiles_in_parallel(int, int64_t tiles, FunctionRef<void(int64_t)> run_tile) {
  tbb::parallel_for(
      tbb::blocked_range<int64_t>(0, tiles, 1),
      [&](const tbb::blocked_range<int64_t>& range) {
        for (int64_t index = range.begin(); index < range.end(); ++index) run_tile(index);
      },
      tbb::simple_partitioner());
}
#endif

}  // namespace

struct ThreadingContext::Arena {
  explicit Arena(int threads) : arena(threads) {}
  tbb::task_arena arena;
};

ThreadingContext::ThreadingContext(int threads)
    : threads_(threads > 0 ? threads : tbb::info::default_concurrency()) {
  if (threads_ > 1) arena_ = std::make_shared<Arena>(threads_);
}

void ThreadingContext::execute(FunctionRef<void()> fn) const {
  if (arena_ && !kPlainThreads) {
    arena_->arena.execute(fn);
  } else {
    fn();
  }
}

void ThreadingContext::for_tiles(int64_t n, int64_t tile,
                                 FunctionRef<void(int64_t, int64_t)> fn) const {
  if (n <= 0) return;
  tile = std::max<int64_t>(tile, 1);
  const int64_t tiles = (n + tile - 1) / tile;
  auto run_tile = [&](int64_t index) { fn(index * tile, std::min(n, (index + 1) * tile)); };
  if (threads_ == 1 || tiles == 1) {
    for (int64_t index = 0; index < tiles; ++index) run_tile(index);
    return;
  }
  run_tiles_in_parallel(threads_, tiles, run_tile);
}

}  // namespace mamba2
