#include "apps/common/load_progress.h"

#include <unistd.h>

#include <cstdio>

namespace mamba2::apps {

Model::PrepareProgress load_progress(const char* program) {
  if (isatty(STDERR_FILENO) == 0) return {};
  return [program](int64_t done, int64_t total) {
    if (done < total) {
      std::fprintf(stderr, "\r%s: preparing weights: layer %lld/%lld", program,
                   static_cast<long long>(done), static_cast<long long>(total));
    } else {
      std::fputs("\r\033[K", stderr);  // the line is erased once the model is ready
    }
    std::fflush(stderr);
  };
}

}  // namespace mamba2::apps
