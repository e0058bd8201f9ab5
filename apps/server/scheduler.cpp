#include "server/scheduler.h"

#include <algorithm>
#include <optional>

#include "mamba2/generation.h"
#include "mamba2/sampler.h"

namespace mamba2::server {

struct Scheduler::Slot {
  Slot(std::shared_ptr<const Model> model, const SessionOptions& options)
      : session(std::move(model), options) {}

  Session session;
  std::shared_ptr<Job> job;       // null: the slot is free
  std::vector<int32_t> consumed;  // the tokens the session's state has run
  std::optional<Sampler> sampler;
  std::optional<Generation> generation;  // samples with *sampler
  std::span<const float> logits;         // to sample from next; empty while the prompt runs
};

Scheduler::Scheduler(std::shared_ptr<const Model> model, const Tokenizer* tokenizer,
                     SchedulerOptions options, Metrics& metrics,
                     std::unique_ptr<StateStore> shared_store)
    : model_(std::move(model)),
      tokenizer_(tokenizer),
      options_(std::move(options)),
      metrics_(metrics),
      mask_(generation_mask(model_->config(), tokenizer)),
      decoder_(model_, options_.parallel, options_.threading),
      cache_(options_.cache_bytes, std::move(shared_store)) {
  SessionOptions session_options;
  session_options.threading = options_.threading;
  for (int64_t i = 0; i < options_.parallel; ++i) {
    slots_.push_back(std::make_unique<Slot>(model_, session_options));
  }
  batch_sessions_.reserve(slots_.size());
  batch_tokens_.reserve(slots_.size());
  batch_slots_.reserve(slots_.size());
  thread_ = std::thread([this] { run(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  for (const auto& job : queue_) job->fail("the server is shutting down");
  for (const auto& slot : slots_) {
    if (slot->job) slot->job->fail("the server is shutting down");
  }
}

void Scheduler::submit(std::shared_ptr<Job> job) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(job));
    metrics_.queue_length.store(static_cast<int64_t>(queue_.size()));
  }
  wake_.notify_all();
}

void Scheduler::run() {
  std::vector<std::shared_ptr<Job>> admitted;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || active_ > 0 || !queue_.empty(); });
      if (stopping_) return;
      for (int64_t free = static_cast<int64_t>(slots_.size()) - active_;
           free > 0 && !queue_.empty(); --free) {
        admitted.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      metrics_.queue_length.store(static_cast<int64_t>(queue_.size()));
    }
    for (auto& job : admitted) {
      auto free_slot = std::ranges::find_if(slots_, [](const auto& slot) { return !slot->job; });
      start(**free_slot, std::move(job));
    }
    admitted.clear();
    step();
  }
}

void Scheduler::start(Slot& slot, std::shared_ptr<Job> job) {
  slot.job = std::move(job);
  ++active_;
  metrics_.active_slots.store(active_);
  const std::vector<int32_t>& prompt = slot.job->prompt();
  if (const auto hit = cache_.find(prompt)) {
    slot.session.set_state(*hit->state);
    slot.consumed.assign(prompt.begin(), prompt.begin() + hit->length);
    ++metrics_.cache_hits;
    if (hit->from_shared) ++metrics_.shared_store_hits;
    metrics_.cache_saved_tokens += hit->length;
  } else {
    slot.session.reset();
    slot.consumed.clear();
    ++metrics_.cache_misses;
  }
  update_cache_metrics();  // a lookup may have moved a state to memory, or failed
  slot.sampler.emplace(slot.job->sampler(), mask_);
  slot.sampler->accept(prompt);
  slot.generation.emplace(tokenizer_, *slot.sampler, slot.job->options());
  slot.logits = {};
}

void Scheduler::step() {
  for (const auto& slot : slots_) {
    if (slot->job && slot->job->cancelled()) {
      slot->job->finish(FinishReason::kCancelled, 0);
      release(*slot);
    }
  }
  // One piece of one prompt, then a decode step for everything generating.
  const auto waiting = std::ranges::find_if(
      slots_, [](const auto& slot) { return slot->job && slot->logits.empty(); });
  if (waiting != slots_.end()) {
    Slot& slot = **waiting;
    try {
      prefill_piece(slot);
    } catch (const std::exception& error) {
      slot.job->fail(error.what());
      release(slot);
    }
  }
  sample_and_decode();
}

void Scheduler::prefill_piece(Slot& slot) {
  const std::vector<int32_t>& prompt = slot.job->prompt();
  const auto done = static_cast<int64_t>(slot.consumed.size());
  const auto total = static_cast<int64_t>(prompt.size());
  // Pieces end at multiples of prefill_piece, wherever the prompt resumed: the cache's states
  // sit at the same boundaries in every request, and so a resumed prompt runs the same pieces,
  // with the same results, as one run from the start.
  const int64_t end = std::min(total, (done / options_.prefill_piece + 1) * options_.prefill_piece);
  const std::span<const float> logits =
      slot.session.prefill(std::span(prompt).subspan(done, end - done));
  slot.consumed.insert(slot.consumed.end(), prompt.begin() + done, prompt.begin() + end);
  if (end < total) {
    cache_.insert(slot.consumed, slot.session.state());
    update_cache_metrics();
  } else {
    slot.logits = logits;
  }
}

void Scheduler::sample_and_decode() {
  batch_sessions_.clear();
  batch_tokens_.clear();
  batch_slots_.clear();
  for (const auto& slot : slots_) {
    if (!slot->job || slot->logits.empty()) continue;
    try {
      Job& job = *slot->job;
      const std::optional<int32_t> token =
          slot->generation->next(slot->logits, [&](std::string_view text) { job.publish(text); });
      if (!token) {
        finish(*slot);
        continue;
      }
      batch_sessions_.push_back(&slot->session);
      batch_tokens_.push_back(*token);
      batch_slots_.push_back(slot.get());
    } catch (const std::exception& error) {
      slot->job->fail(error.what());
      release(*slot);
    }
  }
  if (batch_slots_.empty()) return;
  metrics_.batch_size.store(static_cast<int64_t>(batch_slots_.size()));
  ++metrics_.decode_steps;
  try {
    const std::span<const float> logits = decoder_.decode(batch_sessions_, batch_tokens_);
    const auto vocab = static_cast<size_t>(model_->config().vocab_padded);
    for (size_t i = 0; i < batch_slots_.size(); ++i) {
      batch_slots_[i]->logits = logits.subspan(i * vocab, vocab);
      batch_slots_[i]->consumed.push_back(batch_tokens_[i]);
    }
  } catch (const std::exception& error) {
    for (Slot* slot : batch_slots_) {
      slot->job->fail(error.what());
      release(*slot);
    }
  }
}

void Scheduler::finish(Slot& slot) {
  const auto generated = static_cast<int64_t>(slot.generation->tokens().size());
  metrics_.generated_tokens += generated;
  // The whole conversation so far, for a next turn that extends it: stored before the reply
  // ends, since the client may send that turn to another replica at once. The slot is free
  // meanwhile (the cache saves a copy).
  cache_.insert(slot.consumed, slot.session.state(),
                [job = slot.job, reason = slot.generation->finish_reason(), generated] {
                  job->finish(reason, generated);
                });
  update_cache_metrics();
  release(slot);
}

void Scheduler::update_cache_metrics() {
  const StoreSize memory = cache_.memory_size(), shared = cache_.shared_size();
  metrics_.cache_entries.store(memory.entries);
  metrics_.cache_bytes.store(memory.bytes);
  metrics_.shared_store_entries.store(shared.entries);
  metrics_.shared_store_bytes.store(shared.bytes);
  metrics_.shared_store_errors.store(cache_.shared_errors());
}

void Scheduler::release(Slot& slot) {
  slot.generation.reset();  // before the sampler it refers to
  slot.sampler.reset();
  slot.job.reset();
  slot.logits = {};
  --active_;
  metrics_.active_slots.store(active_);
}

}  // namespace mamba2::server
