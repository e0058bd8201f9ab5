// The load itself: N clients, each making M good requests one after another (prompts of mixed
// lengths, streamed or whole), while other threads send the hostile requests among them; every
// loop bounded by its count, every request by its timeout, the run by a time limit.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "loadtest/completion_client.h"
#include "loadtest/hostile_requests.h"

namespace mamba2::loadtest {

struct LoadPlan {
  int64_t clients = 16;
  int64_t requests = 20;  // per client
  std::vector<int64_t> prompt_lengths = {8, 32, 128, 512};
  int64_t max_tokens = 32;
  bool stream_only = false;  // otherwise every other request streams
  int64_t vocab = 256;       // prompt ids are drawn below it
  uint64_t seed = 1;
  int64_t hostile = 200;  // hostile requests in all, cycling through the catalogue
  int64_t hostile_clients = 2;
  std::vector<HostileRequest> catalogue;
  int request_timeout_s = 120;
  double time_limit_s = 600;  // no request starts after it
};

struct HostileOutcome {
  std::string name;
  int status = 0;
  bool may_close = false;  // the request's own may_close
  bool closed = false;     // the server closed without a reply (rather than timing out)
  std::string error;
};

struct LoadResult {
  std::vector<CompletionOutcome> good;
  std::vector<HostileOutcome> hostile;
  int64_t not_started = 0;  // requests left out by the time limit
  double wall_s = 0;        // the whole run
  double good_wall_s = 0;   // until the last good request ended: what tokens/s divide by
};

// The good request `index` of client `client` (the same call for the same plan and seed).
CompletionCall planned_call(const LoadPlan& plan, int64_t client, int64_t index);

LoadResult run_load(const Target& target, const LoadPlan& plan);

}  // namespace mamba2::loadtest
