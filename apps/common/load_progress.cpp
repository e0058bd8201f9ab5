#include "common/load_progress.h"

#include <unistd.h>

namespace mamba2::apps {

LoadProgress::LoadProgress(const char* program)
    : LoadProgress(program, stderr, isatty(STDERR_FILENO) != 0) {}

LoadProgress::LoadProgress(const char* program, std::FILE* out, bool terminal)
    : program_(program), out_(out), terminal_(terminal) {}

LoadProgress::~LoadProgress() { erase(); }

Model::PrepareProgress LoadProgress::callback() {
  if (!terminal_) return {};
  return [this](int64_t done, int64_t total) {
    if (done >= total) return erase();
    std::fprintf(out_, "\r%s: preparing weights: layer %lld/%lld", program_,
                 static_cast<long long>(done), static_cast<long long>(total));
    std::fflush(out_);
    shown_ = true;
  };
}

void LoadProgress::erase() {
  if (!shown_) return;
  std::fputs("\r\033[K", out_);
  std::fflush(out_);
  shown_ = false;
}

}  // namespace mamba2::apps
