// The cost of one parallel loop as decode runs dozens per token: ThreadingContext::for_tiles over a
// few tiles of almost no work, per thread count. The time per call is the scheduling overhead (the
// work itself is a few nanoseconds per tile).
#include <benchmark/benchmark.h>

#include <vector>

#include "mamba2/threading_context.h"

namespace mamba2 {
namespace {

// Args: threads, tiles.
void BM_ForTilesOverhead(benchmark::State& state) {
  ThreadingContext threading(static_cast<int>(state.range(0)));
  const int64_t tiles = state.range(1);
  struct alignas(64) Slot {
    int64_t value = 0;
  };
  std::vector<Slot> slots(static_cast<size_t>(tiles));  // one line per tile: no false sharing
  threading.execute([&] {
    for (auto _ : state) {
      threading.for_tiles(tiles, 1, [&](int64_t begin, int64_t) { ++slots[begin].value; });
    }
  });
  benchmark::DoNotOptimize(slots.data());
}

BENCHMARK(BM_ForTilesOverhead)->ArgsProduct({{1, 2}, {2, 8, 32}})->UseRealTime();

}  // namespace
}  // namespace mamba2
