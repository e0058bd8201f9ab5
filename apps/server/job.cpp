#include "server/job.h"

namespace mamba2::server {

void Job::publish(std::string_view text) {
  {
    std::lock_guard lock(mutex_);
    pending_.text += text;
  }
  changed_.notify_all();
}

void Job::finish(FinishReason reason, int64_t completion_tokens) {
  {
    std::lock_guard lock(mutex_);
    pending_.done = true;
    pending_.reason = reason;
    pending_.prompt_tokens = static_cast<int64_t>(prompt_.size());
    pending_.completion_tokens = completion_tokens;
  }
  changed_.notify_all();
}

void Job::fail(const std::string& error) {
  {
    std::lock_guard lock(mutex_);
    pending_.done = true;
    pending_.error = error;
  }
  changed_.notify_all();
}

JobUpdate Job::take(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return pending_.done || !pending_.text.empty(); });
  JobUpdate update = pending_;
  pending_.text.clear();
  return update;
}

JobUpdate Job::wait() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return pending_.done; });
  return pending_;
}

}  // namespace mamba2::server
