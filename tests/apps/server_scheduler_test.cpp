// The server's scheduler in-process, without HTTP: many threads submit, read and cancel jobs at
// once while one thread batches them and shares its prefix cache (in memory, and with a directory
// store behind it saved on the writer's thread). Its own executable, so the TSan step of
// scripts/test.sh runs it under ThreadSanitizer.
#include <gtest/gtest.h>

#include <thread>

#include "mamba2/conversation_state.h"
#include "mamba2/model_loader.h"
#include "server/dir_state_store.h"
#include "server/scheduler.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

using server::Job;
using server::JobUpdate;
using server::Metrics;
using server::Scheduler;
using server::SchedulerOptions;

struct Fixture {
  // One thread per session: libtbb is not instrumented, so TSan would flag TBB's own hand-offs
  // (see tests/runtime/engine/concurrent_sessions_test.cpp).
  std::shared_ptr<const Model> model = load_model(MAMBA2_DEFAULT_MODEL, {}, ThreadingContext(1));
  Tokenizer tokenizer{*model->weights().tokenizer};
  Metrics metrics;

  // `shared_dir` (empty: none) backs the memory cache with a directory store.
  std::unique_ptr<Scheduler> scheduler(int64_t parallel, int64_t cache_bytes,
                                       const std::filesystem::path& shared_dir = {}) {
    SchedulerOptions options;
    options.parallel = parallel;
    options.prefill_piece = 8;  // many pieces, many cached states
    options.cache_bytes = cache_bytes;
    options.threading = ThreadingContext(1);
    std::unique_ptr<server::StateStore> shared;
    if (!shared_dir.empty()) {
      shared = std::make_unique<server::DirStateStore>(
          shared_dir, server::StoreIdentity{model_fingerprint(*model), model->config()},
          int64_t{256} << 20, 4096);
    }
    return std::make_unique<Scheduler>(model, &tokenizer, options, metrics, std::move(shared));
  }

  std::shared_ptr<Job> job(const std::string& prompt, int64_t max_tokens) const {
    SamplerSettings greedy;
    greedy.temp = 0;
    return std::make_shared<Job>(tokenizer.encode(prompt), greedy,
                                 GenerationOptions{{}, max_tokens});
  }
};

const std::vector<std::string> kPrompts = {"Once upon a time", "Once upon a time, there was",
                                           "The little dog",   "Lily said",
                                           "One day, Tom",     "The sun was",
                                           "Once upon a",      "In the park"};

// Each prompt's reply, streamed in pieces by a thread of its own; every third also gets a job
// that it cancels after its first text.
std::vector<std::string> replies_together(Fixture& f, Scheduler& scheduler) {
  std::vector<std::string> replies(kPrompts.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < kPrompts.size(); ++i) {
    threads.emplace_back([&, i] {
      if (i % 3 == 0) {
        auto doomed = f.job(kPrompts[i], 1000);
        scheduler.submit(doomed);
        doomed->take(std::chrono::seconds(10));
        doomed->cancel();
      }
      auto job = f.job(kPrompts[i], 20 + static_cast<int64_t>(i));
      scheduler.submit(job);
      for (JobUpdate update; !update.done;) {
        update = job->take(std::chrono::milliseconds(50));
        replies[i] += update.text;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  return replies;
}

TEST(ServerScheduler, ConcurrentJobsEqualTheirRunsAloneWithAndWithoutTheCache) {
  Fixture f;
  std::vector<std::string> alone;
  {
    auto scheduler = f.scheduler(1, 0);
    for (size_t i = 0; i < kPrompts.size(); ++i) {
      auto job = f.job(kPrompts[i], 20 + static_cast<int64_t>(i));
      scheduler->submit(job);
      const JobUpdate update = job->wait();
      EXPECT_EQ(update.reason, FinishReason::kMaxTokens);
      alone.push_back(update.text);
    }
  }
  const std::filesystem::path shared_dir = testing::scratch_dir();
  for (const bool shared : {false, true}) {
    for (const int64_t cache_bytes : {int64_t{0}, int64_t{64} << 20}) {
      SCOPED_TRACE(std::string(cache_bytes ? "cache" : "no cache") + (shared ? " + dir" : ""));
      auto scheduler = f.scheduler(4, cache_bytes, shared ? shared_dir : "");
      EXPECT_EQ(replies_together(f, *scheduler), alone);
      scheduler.reset();  // joins the scheduler thread: the gauges are final
      EXPECT_EQ(f.metrics.active_slots.load(), 0);
      EXPECT_EQ(f.metrics.queue_length.load(), 0);
    }
  }
  EXPECT_GT(f.metrics.cache_hits.load(), 0);
  EXPECT_GT(f.metrics.shared_store_hits.load(), 0);  // the second dir round found the first's
}

TEST(ServerScheduler, StoppingFailsTheJobsStillWaiting) {
  Fixture f;
  auto scheduler = f.scheduler(1, 0);
  std::vector<std::shared_ptr<Job>> jobs;
  for (int i = 0; i < 4; ++i) {
    jobs.push_back(f.job("Once upon a time", 100000));
    scheduler->submit(jobs.back());
  }
  jobs.front()->take(std::chrono::seconds(10));
  scheduler.reset();
  for (const auto& job : jobs) EXPECT_TRUE(job->wait().done);
}

}  // namespace
}  // namespace mamba2
