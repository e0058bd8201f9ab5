// Continuous batching: one thread owns the model's work. Requests wait in a queue for one of N
// slots (a session each); every step runs one piece of one waiting prompt, then samples every
// generating slot and decodes all of their tokens together (BatchDecoder), so a new prompt is
// prefilled between decode steps and running streams stall for one piece at most. Prompts
// resume from the longest cached prefix state (TieredStateCache), which keeps a state at every
// piece boundary and at the end of every request (before the reply's end is sent, so that the next
// turn finds it on any replica sharing the store).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "mamba2/batch_decoder.h"
#include "mamba2/model.h"
#include "mamba2/tokenizer.h"
#include "server/job.h"
#include "server/metrics.h"
#include "server/tiered_state_cache.h"

namespace mamba2::server {

struct SchedulerOptions {
  int64_t parallel = 4;         // slots: requests generating at once
  int64_t prefill_piece = 512;  // prompt tokens run between two decode steps
  int64_t cache_bytes = int64_t{1} << 30;
  ThreadingContext threading;
};

class Scheduler {
 public:
  // `tokenizer` (null for an id-only model) and `metrics` must outlive the scheduler.
  // `shared_store` (null: none) backs the memory prefix cache: a directory or Redis.
  Scheduler(std::shared_ptr<const Model> model, const Tokenizer* tokenizer,
            SchedulerOptions options, Metrics& metrics,
            std::unique_ptr<StateStore> shared_store = nullptr);
  ~Scheduler();  // fails the jobs still queued or running, then stops the thread
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  void submit(std::shared_ptr<Job> job);

 private:
  struct Slot;
  void run();
  void step();
  void start(Slot& slot, std::shared_ptr<Job> job);
  void prefill_piece(Slot& slot);
  void finish(Slot& slot);
  void release(Slot& slot);
  void sample_and_decode();
  void update_cache_metrics();

  std::shared_ptr<const Model> model_;
  const Tokenizer* tokenizer_;
  SchedulerOptions options_;
  Metrics& metrics_;
  std::vector<uint8_t> mask_;  // the ids a reply may contain
  BatchDecoder decoder_;
  TieredStateCache cache_;
  std::vector<std::unique_ptr<Slot>> slots_;  // the scheduler thread's alone
  int64_t active_ = 0;                        // slots with a job

  // Scratch of one decode step, allocated once.
  std::vector<Session*> batch_sessions_;
  std::vector<int32_t> batch_tokens_;
  std::vector<Slot*> batch_slots_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> queue_;  // guarded by mutex_
  bool stopping_ = false;                   // guarded by mutex_
  std::thread thread_;
};

}  // namespace mamba2::server
