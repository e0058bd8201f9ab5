#include "runtime/engine/parallel.h"

#include <tbb/info.h>

namespace mamba2 {

Parallel::Parallel(int threads) {
  const int available = tbb::info::default_concurrency();
  threads_ = threads > 0 ? threads : available;
  if (threads_ > 1) arena_ = std::make_unique<tbb::task_arena>(threads_);
}

}  // namespace mamba2
