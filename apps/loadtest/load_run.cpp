#include "loadtest/load_run.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <thread>

namespace mamba2::loadtest {
namespace {

using Clock = std::chrono::steady_clock;

// A hostile request's reply within the server's read timeout (5 s) and some slack.
constexpr std::chrono::milliseconds kHostileTimeout{15000};

}  // namespace

CompletionCall planned_call(const LoadPlan& plan, int64_t client, int64_t index) {
  CompletionCall call;
  call.seed = plan.seed * 1000003 + static_cast<uint64_t>(client * 1009 + index);
  std::mt19937_64 random(call.seed);
  const auto lengths = static_cast<int64_t>(plan.prompt_lengths.size());
  const int64_t length = plan.prompt_lengths[static_cast<size_t>((client * 7 + index) % lengths)];
  std::uniform_int_distribution<int32_t> id(0, static_cast<int32_t>(plan.vocab - 1));
  for (int64_t i = 0; i < length; ++i) call.prompt.push_back(id(random));
  call.max_tokens = plan.max_tokens;
  call.stream = plan.stream_only || (client + index) % 2 == 0;
  return call;
}

LoadResult run_load(const Target& target, const LoadPlan& plan) {
  LoadResult result;
  std::mutex mutex;  // guards result's vectors and not_started
  const auto start = Clock::now();
  const auto limit = start + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(plan.time_limit_s));
  // Good requests done so far: the hostile ones are spread over the run by it.
  std::atomic<int64_t> good_done{0};
  const int64_t good_total = plan.clients * plan.requests;
  std::atomic<int64_t> clients_left{plan.clients};
  std::vector<std::thread> threads;
  for (int64_t client = 0; client < plan.clients; ++client) {
    threads.emplace_back([&, client] {
      for (int64_t i = 0; i < plan.requests; ++i) {
        if (Clock::now() > limit) {
          std::lock_guard lock(mutex);
          result.not_started += plan.requests - i;
          break;
        }
        CompletionOutcome outcome =
            run_completion(target, planned_call(plan, client, i), plan.request_timeout_s);
        ++good_done;
        std::lock_guard lock(mutex);
        result.good.push_back(std::move(outcome));
      }
      if (--clients_left == 0) {
        std::lock_guard lock(mutex);
        result.good_wall_s = std::chrono::duration<double>(Clock::now() - start).count();
      }
    });
  }
  // The hostile requests, taken in turn from one counter by every hostile thread.
  std::atomic<int64_t> next_hostile{0};
  for (int64_t t = 0; t < plan.hostile_clients && !plan.catalogue.empty(); ++t) {
    threads.emplace_back([&] {
      for (int64_t k; (k = next_hostile.fetch_add(1)) < plan.hostile;) {
        // Hostile request k goes once k/K of the good ones are done (or all clients ended).
        while (clients_left.load() > 0 && good_done.load() * plan.hostile < k * good_total) {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        if (Clock::now() > limit) {
          std::lock_guard lock(mutex);
          ++result.not_started;
          continue;
        }
        const HostileRequest& request =
            plan.catalogue[static_cast<size_t>(k) % plan.catalogue.size()];
        const RawReply reply =
            exchange_raw(target.port, request.bytes, request.ending, kHostileTimeout);
        std::lock_guard lock(mutex);
        result.hostile.push_back(
            {request.name, reply.status, request.may_close, reply.closed, reply.error});
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  result.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

}  // namespace mamba2::loadtest
