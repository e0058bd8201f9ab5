// The server's counters, written by the HTTP threads and the scheduler and read by GET /metrics
// in Prometheus' text format.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace mamba2::server {

struct Metrics {
  std::atomic<int64_t> requests{0};          // completion requests accepted
  std::atomic<int64_t> requests_refused{0};  // answered with a 4xx
  std::atomic<int64_t> prompt_tokens{0};
  std::atomic<int64_t> generated_tokens{0};
  std::atomic<int64_t> queue_length{0};  // requests waiting for a slot
  std::atomic<int64_t> active_slots{0};
  std::atomic<int64_t> batch_size{0};  // sessions in the last decode step
  std::atomic<int64_t> decode_steps{0};
  std::atomic<int64_t> cache_hits{0};
  std::atomic<int64_t> cache_misses{0};
  std::atomic<int64_t> cache_saved_tokens{0};  // prompt tokens restored instead of prefilled
  std::atomic<int64_t> cache_entries{0};
  std::atomic<int64_t> cache_bytes{0};
  // The shared store behind the memory cache (--state-dir or --redis).
  std::atomic<int64_t> shared_store_hits{0};  // prompts resumed from a state only it had
  std::atomic<int64_t> shared_store_entries{0};
  std::atomic<int64_t> shared_store_bytes{0};
  std::atomic<int64_t> shared_store_errors{0};  // unreadable entries, failed calls

  std::string prometheus_text() const;
};

}  // namespace mamba2::server
