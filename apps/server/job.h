// One request's generation as the HTTP thread that serves it and the scheduler thread that runs
// it share it: the scheduler publishes text and the end, the HTTP thread takes them as they come
// or cancels (its client went away).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "mamba2/generation.h"
#include "mamba2/sampler_settings.h"

namespace mamba2::server {

// What the HTTP thread takes from a job: the text since the last take, and how it ended.
struct JobUpdate {
  std::string text;
  bool done = false;
  FinishReason reason = FinishReason::kNone;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  std::string error;  // set when the generation failed
};

class Job {
 public:
  Job(std::vector<int32_t> prompt, SamplerSettings sampler, GenerationOptions options)
      : prompt_(std::move(prompt)), sampler_(sampler), options_(std::move(options)) {}

  const std::vector<int32_t>& prompt() const { return prompt_; }
  const SamplerSettings& sampler() const { return sampler_; }
  const GenerationOptions& options() const { return options_; }

  // The scheduler's side.
  void publish(std::string_view text);
  void finish(FinishReason reason, int64_t completion_tokens);
  void fail(const std::string& error);
  bool cancelled() const { return cancelled_.load(); }

  // The HTTP thread's side. take() waits up to `timeout` for text or the end.
  JobUpdate take(std::chrono::milliseconds timeout);
  JobUpdate wait();  // until the end: the whole text
  void cancel() { cancelled_.store(true); }

 private:
  const std::vector<int32_t> prompt_;
  const SamplerSettings sampler_;
  const GenerationOptions options_;
  std::atomic<bool> cancelled_{false};

  std::mutex mutex_;
  std::condition_variable changed_;
  JobUpdate pending_;  // guarded by mutex_
};

}  // namespace mamba2::server
