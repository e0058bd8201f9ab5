// N sessions on shared Models in N threads produce exactly what each produces alone, for every
// scan path, prefill and decode, with a Mamba-2 and a Mamba-1 model in the same process; so do
// BatchDecoders stepping sessions in parallel threads, and sessions measuring the auto scan
// together agree on one choice. Built on its own so the TSan step (scripts/test.sh) can run just
// this under ThreadSanitizer.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "mamba2/batch_decoder.h"
#include "mamba2/random_model.h"
#include "mamba2/session.h"
#include "runtime/engine/scan_choice.h"
#include "tests/runtime/engine/small_models.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

using testing::random_tokens;
using testing::small_config;
using testing::small_configs;

// Everything a session computes: every prompt position's logits, then greedy decode steps.
struct Transcript {
  std::vector<float> prompt_logits;  // [prompt tokens, vocab_padded]
  std::vector<float> decode_logits;  // [decode steps, vocab_padded]
  std::vector<int32_t> decoded;      // [decode steps]
  SessionState state;
};

constexpr int kDecodeSteps = 12;

// Threads inside each session: two, so the sessions' own tiles run in parallel too (under
// ThreadSanitizer on plain threads it can follow; see threading_context.cpp).
constexpr int kSessionThreads = 2;

Transcript run_session(std::shared_ptr<const Model> model, const std::vector<int32_t>& prompt,
                       ScanMode scan) {
  SessionOptions options;
  options.scan = scan;
  options.threading = ThreadingContext(kSessionThreads);
  options.window_chunks = 2;  // the longer prompts cross window boundaries
  Session session(model, options);
  Transcript run;
  std::span<const float> last =
      session.prefill(prompt, [&](int64_t, std::span<const float> logits) {
        run.prompt_logits.insert(run.prompt_logits.end(), logits.begin(), logits.end());
      });
  const int64_t vocab = model->config().vocab_size;
  for (int step = 0; step < kDecodeSteps; ++step) {
    // Greedy over the real vocabulary, so the decoded tokens depend on every logit before.
    int32_t next = 0;
    for (int32_t id = 1; id < vocab; ++id) {
      if (last[id] > last[next]) next = id;
    }
    run.decoded.push_back(next);
    last = session.decode(next);
    run.decode_logits.insert(run.decode_logits.end(), last.begin(), last.end());
  }
  run.state = session.state();
  return run;
}

TEST(ConcurrentSessions, NThreadsTimesEveryScanModeAndLayerKindMatchRunsAlone) {
  std::vector<std::shared_ptr<const Model>> models;
  for (const ModelConfig& config : small_configs()) {
    models.push_back(std::make_shared<const Model>(make_random_weights(config, 7)));
  }
  const std::vector<ScanMode> scans = {ScanMode::kChunked, ScanMode::kAssociative,
                                       ScanMode::kRecurrent};
  constexpr int kPromptsPerScan = 2;
  // One job per (model, scan, prompt): every scan path of both layer kinds runs at the same
  // time as the others.
  struct Job {
    std::shared_ptr<const Model> model;
    ScanMode scan;
    std::vector<int32_t> prompt;
  };
  std::vector<Job> jobs;
  for (const auto& model : models) {
    for (ScanMode scan : scans) {
      for (int i = 0; i < kPromptsPerScan; ++i) {
        const uint32_t seed = static_cast<uint32_t>(100 + jobs.size());
        jobs.push_back(
            {model, scan,
             random_tokens(5 + 9 * (jobs.size() % 6), model->config().vocab_size, seed)});
      }
    }
  }
  std::vector<Transcript> alone;
  for (const Job& job : jobs) alone.push_back(run_session(job.model, job.prompt, job.scan));

  std::vector<Transcript> together(jobs.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < jobs.size(); ++i) {
    threads.emplace_back(
        [&, i] { together[i] = run_session(jobs[i].model, jobs[i].prompt, jobs[i].scan); });
  }
  for (std::thread& thread : threads) thread.join();

  for (size_t i = 0; i < jobs.size(); ++i) {
    const ModelConfig& config = jobs[i].model->config();
    SCOPED_TRACE("job " + std::to_string(i) + ", " +
                 std::string(architecture_name(config.architecture)) + ", " +
                 std::string(scan_mode_name(jobs[i].scan)));
    ASSERT_EQ(together[i].prompt_logits.size(),
              jobs[i].prompt.size() * static_cast<size_t>(config.vocab_padded));
    EXPECT_EQ(together[i].prompt_logits, alone[i].prompt_logits);
    EXPECT_EQ(together[i].decoded, alone[i].decoded);
    EXPECT_EQ(together[i].decode_logits, alone[i].decode_logits);
    EXPECT_EQ(together[i].state, alone[i].state);
  }
}

// Sessions of one model measuring ScanMode::kAuto at the same time: the first choice recorded is
// the model's, and every session (including those whose own measurement lost the race) finishes
// its prompt with it.
TEST(ConcurrentSessions, AutoScanMeasuredTogetherEndsInOneChoice) {
  const testing::FreshTimedChoices fresh;
  for (const ModelConfig& config : small_configs()) {
    const auto model = std::make_shared<const Model>(make_random_weights(config, 9));
    const auto prompt = random_tokens(12 * config.chunk_size, config.vocab_size, 3);
    constexpr int kSessions = 4;
    std::vector<ScanMode> used(kSessions);
    std::vector<std::thread> threads;
    for (int i = 0; i < kSessions; ++i) {
      threads.emplace_back([&, i] {
        SessionOptions options;
        options.threading = ThreadingContext(kSessionThreads);
        Session session(model, options);
        session.prefill(prompt);
        used[i] = session.last_scan();
      });
    }
    for (std::thread& thread : threads) thread.join();
    const auto kept = model->scan_choices().find({kSessionThreads, config.chunk_size, 0, 2});
    ASSERT_TRUE(kept);
    for (ScanMode scan : used) EXPECT_EQ(scan, *kept);
  }
}

// Sessions copied from one prefilled session decode on in parallel threads exactly like a copy
// decoding alone (copies share nothing mutable).
TEST(ConcurrentSessions, CopiesOfOneSessionDecodeIndependently) {
  const ModelConfig config = small_config();
  const auto model = std::make_shared<const Model>(make_random_weights(config, 9));
  SessionOptions options;
  options.threading = ThreadingContext(kSessionThreads);
  Session base(model, options);
  base.prefill(random_tokens(30, config.vocab_size, 5));
  constexpr int kCopies = 4;
  auto decode_from = [&](Session session, int copy) {
    std::vector<float> logits;
    for (int step = 0; step < kDecodeSteps; ++step) {
      const auto row = session.decode(static_cast<int32_t>((copy * 7 + step) % config.vocab_size));
      logits.insert(logits.end(), row.begin(), row.end());
    }
    return logits;
  };
  std::vector<std::vector<float>> alone;
  for (int copy = 0; copy < kCopies; ++copy) alone.push_back(decode_from(base, copy));
  std::vector<std::vector<float>> together(kCopies);
  std::vector<std::thread> threads;
  for (int copy = 0; copy < kCopies; ++copy) {
    threads.emplace_back([&, copy] { together[copy] = decode_from(base, copy); });
  }
  for (std::thread& thread : threads) thread.join();
  for (int copy = 0; copy < kCopies; ++copy) EXPECT_EQ(together[copy], alone[copy]) << copy;
}

// BatchDecoders in parallel threads, each stepping its own sessions of one shared Model (as a
// server's schedulers would), give each session the logits and state it gets decoding alone.
TEST(ConcurrentSessions, BatchDecodersInParallelThreadsMatchSessionsAlone) {
  const ModelConfig config = small_config();
  const auto model = std::make_shared<const Model>(make_random_weights(config, 10));
  SessionOptions options;
  options.threading = ThreadingContext(kSessionThreads);
  constexpr int kDecoders = 3, kSessionsEach = 5;
  // Sessions of different lengths; decoder d steps sessions [d * kSessionsEach, +kSessionsEach).
  std::vector<Session> start;
  for (int s = 0; s < kDecoders * kSessionsEach; ++s) {
    start.emplace_back(model, options);
    start.back().prefill(random_tokens(static_cast<size_t>(1 + 3 * s), config.vocab_size, s));
  }
  const int64_t vocab = config.vocab_padded;
  auto token_of = [&](int s, int step) {
    return static_cast<int32_t>((s * 11 + step * 5) % config.vocab_size);
  };
  std::vector<std::vector<float>> alone(start.size());
  std::vector<Session> alone_sessions = start;
  for (size_t s = 0; s < start.size(); ++s) {
    for (int step = 0; step < kDecodeSteps; ++step) {
      const auto row = alone_sessions[s].decode(token_of(static_cast<int>(s), step));
      alone[s].insert(alone[s].end(), row.begin(), row.end());
    }
  }
  std::vector<Session> batched = start;
  std::vector<std::vector<float>> together(start.size());
  std::vector<std::thread> threads;
  for (int d = 0; d < kDecoders; ++d) {
    threads.emplace_back([&, d] {
      BatchDecoder decoder(model, kSessionsEach, options.threading);
      std::vector<Session*> sessions;
      for (int i = 0; i < kSessionsEach; ++i) sessions.push_back(&batched[d * kSessionsEach + i]);
      std::vector<int32_t> tokens(kSessionsEach);
      for (int step = 0; step < kDecodeSteps; ++step) {
        for (int i = 0; i < kSessionsEach; ++i) tokens[i] = token_of(d * kSessionsEach + i, step);
        const auto logits = decoder.decode(sessions, tokens);
        for (int i = 0; i < kSessionsEach; ++i) {
          const auto row = logits.subspan(static_cast<size_t>(i * vocab), vocab);
          together[d * kSessionsEach + i].insert(together[d * kSessionsEach + i].end(), row.begin(),
                                                 row.end());
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (size_t s = 0; s < start.size(); ++s) {
    EXPECT_EQ(together[s], alone[s]) << s;
    EXPECT_EQ(batched[s].state(), alone_sessions[s].state()) << s;
  }
}

}  // namespace
}  // namespace mamba2
