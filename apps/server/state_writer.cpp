#include "server/state_writer.h"

#include <cstdio>
#include <exception>

namespace mamba2::server {

StateWriter::StateWriter(StateStore& store) : store_(store), thread_([this] { run(); }) {}

StateWriter::~StateWriter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void StateWriter::put(std::vector<int32_t> tokens, std::shared_ptr<const SessionState> state,
                      std::function<void()> saved) {
  {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return queue_.size() < kMaxPending; });
    queue_.push_back({std::move(tokens), std::move(state), std::move(saved)});
  }
  changed_.notify_all();
}

void StateWriter::run() {
  for (;;) {
    Save save;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and every save done
      save = std::move(queue_.front());
      queue_.pop_front();
    }
    changed_.notify_all();  // a put() waiting for room
    try {
      store_.put(save.tokens, *save.state);
    } catch (const std::exception& error) {  // stores log their own failures; this is a last guard
      std::fprintf(stderr, "mamba2-server: cannot save a state: %s\n", error.what());
    }
    if (save.saved) save.saved();
  }
}

}  // namespace mamba2::server
