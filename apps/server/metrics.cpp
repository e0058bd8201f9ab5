#include "server/metrics.h"

namespace mamba2::server {
namespace {

void add(std::string& out, const char* name, const char* type, const char* help,
         const std::atomic<int64_t>& value) {
  out += std::string("# HELP mamba2_") + name + " " + help + "\n# TYPE mamba2_" + name + " " +
         type + "\nmamba2_" + name + " " + std::to_string(value.load()) + "\n";
}

}  // namespace

std::string Metrics::prometheus_text() const {
  std::string out;
  add(out, "requests_total", "counter", "Completion requests accepted.", requests);
  add(out, "requests_refused_total", "counter", "Requests answered with a 4xx error.",
      requests_refused);
  add(out, "prompt_tokens_total", "counter", "Prompt tokens received.", prompt_tokens);
  add(out, "generated_tokens_total", "counter", "Tokens generated.", generated_tokens);
  add(out, "queue_length", "gauge", "Requests waiting for a slot.", queue_length);
  add(out, "active_slots", "gauge", "Slots prefilling or generating.", active_slots);
  add(out, "batch_size", "gauge", "Sessions in the last decode step.", batch_size);
  add(out, "decode_steps_total", "counter", "Batched decode steps.", decode_steps);
  add(out, "prefix_cache_hits_total", "counter", "Prompts that resumed a cached prefix state.",
      cache_hits);
  add(out, "prefix_cache_misses_total", "counter", "Prompts prefilled from the start.",
      cache_misses);
  add(out, "prefix_cache_saved_tokens_total", "counter",
      "Prompt tokens restored from the cache instead of prefilled.", cache_saved_tokens);
  add(out, "state_store_entries", "gauge", "Prefix states held.", cache_entries);
  add(out, "state_store_bytes", "gauge", "Bytes of prefix states held.", cache_bytes);
  add(out, "shared_store_hits_total", "counter",
      "Prompts resumed from a state the shared store (--state-dir or --redis) had and memory did "
      "not.",
      shared_store_hits);
  add(out, "shared_store_entries", "gauge",
      "Entries in the shared store (for Redis: keys in its database).", shared_store_entries);
  add(out, "shared_store_bytes", "gauge", "Bytes of the shared store (for Redis: its used memory).",
      shared_store_bytes);
  add(out, "shared_store_errors_total", "counter",
      "Shared store entries found unreadable and calls that failed.", shared_store_errors);
  return out;
}

}  // namespace mamba2::server
