// mamba2-loadtest: loads a mamba2-server on this machine (127.0.0.1 only) with concurrent clients
// and hostile requests, and reports errors, leaked slots, throughput against one client alone,
// latency percentiles and the server's memory; or measures what the prefix cache saves on a
// chat's next turn (--second-turn). Every loop is bounded in count and time.
#include <httplib.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/cli.h"
#include "loadtest/completion_client.h"
#include "loadtest/hostile_requests.h"
#include "loadtest/latency_summary.h"
#include "loadtest/load_run.h"
#include "loadtest/server_launcher.h"
#include "mamba2/error.h"
#include "mamba2/gguf.h"
#include "mamba2/random_model.h"

namespace {

using namespace mamba2;
using namespace mamba2::loadtest;

// A gauge or counter of GET /metrics; nullopt if the server does not answer.
std::optional<int64_t> metric(const Target& target, const std::string& name) {
  httplib::Client client("127.0.0.1", target.port);
  client.set_read_timeout(10, 0);
  httplib::Headers headers;
  if (!target.api_key.empty()) headers.emplace("Authorization", "Bearer " + target.api_key);
  const auto res = client.Get("/metrics", headers);
  if (!res || res->status != 200) return std::nullopt;
  const std::string line = "\n" + name + " ";
  const size_t at = res->body.find(line);
  if (at == std::string::npos) return std::nullopt;
  return std::stoll(res->body.substr(at + line.size()));
}

// The slots still busy once the server has had 5 s to notice every client has gone.
int64_t leaked_slots(const Target& target) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    const auto active = metric(target, "mamba2_active_slots");
    const auto queued = metric(target, "mamba2_queue_length");
    if (!active || !queued) throw Error("mamba2-loadtest", "the server stopped answering /metrics");
    if ((*active == 0 && *queued == 0) || std::chrono::steady_clock::now() > deadline) {
      return *active + *queued;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

double tokens_per_s(const LoadResult& run) {
  int64_t tokens = 0;
  for (const CompletionOutcome& outcome : run.good) tokens += outcome.completion_tokens;
  return run.good_wall_s > 0 ? static_cast<double>(tokens) / run.good_wall_s : 0;
}

std::string mib(int64_t bytes) {
  if (bytes < 0) return "n/a";
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return text;
}

std::string ms(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f ms", seconds * 1e3);
  return text;
}

// A model without a tokenizer replies with its ids separated by spaces.
std::vector<int32_t> reply_ids(const std::string& text) {
  return apps::parse_ids(text,
                         "--second-turn (it needs a model without a tokenizer, whose "
                         "replies are token ids)");
}

// A chat's next turn with and without the prefix cache: turn one is a random history of
// `history` ids and a short reply; turn two extends it by the reply and 16 new ids (the cached
// case), against a fresh prompt of the same length (the uncached case). Times to first token.
int second_turn(const Target& target, int64_t history, int64_t vocab, int repetitions,
                int timeout_s) {
  std::vector<double> cached, uncached;
  std::mt19937_64 random(7);
  std::uniform_int_distribution<int32_t> id(0, static_cast<int32_t>(vocab - 1));
  auto random_ids = [&](int64_t n) {
    std::vector<int32_t> ids;
    for (int64_t i = 0; i < n; ++i) ids.push_back(id(random));
    return ids;
  };
  auto run = [&](std::vector<int32_t> prompt, int64_t max_tokens) {
    const CompletionOutcome outcome = run_completion(
        target, {.prompt = std::move(prompt), .max_tokens = max_tokens, .stream = true, .seed = 1},
        timeout_s);
    if (!outcome.error.empty()) throw Error("mamba2-loadtest", outcome.error);
    return outcome;
  };
  const int64_t saved_before = metric(target, "mamba2_prefix_cache_saved_tokens_total").value_or(0);
  for (int r = 0; r < repetitions; ++r) {
    std::vector<int32_t> prompt = random_ids(history);
    const CompletionOutcome first = run(prompt, 16);
    const std::vector<int32_t> reply = reply_ids(first.text);
    prompt.insert(prompt.end(), reply.begin(), reply.end());
    const std::vector<int32_t> user = random_ids(16);
    prompt.insert(prompt.end(), user.begin(), user.end());
    const auto length = static_cast<int64_t>(prompt.size());
    // Alternated, so that drift on a shared machine touches both alike.
    uncached.push_back(run(random_ids(length), 1).first_token_s);
    cached.push_back(run(std::move(prompt), 1).first_token_s);
    std::fprintf(stderr,
                 "mamba2-loadtest: turn two of %" PRId64 " tokens: cached %s, uncached %s\n",
                 length, ms(cached.back()).c_str(), ms(uncached.back()).c_str());
  }
  const int64_t saved =
      metric(target, "mamba2_prefix_cache_saved_tokens_total").value_or(0) - saved_before;
  std::printf("| second turn on a %" PRId64 "-token history | median of %d |\n| --- | ---: |\n",
              history, repetitions);
  std::printf("| time to first token, uncached | %s |\n", ms(median(uncached)).c_str());
  std::printf("| time to first token, cached | %s |\n", ms(median(cached)).c_str());
  std::printf("| cached / uncached | %.3f |\n", median(cached) / median(uncached));
  std::printf("| prompt tokens restored from the cache | %" PRId64 " |\n", saved);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Loads a mamba2-server on 127.0.0.1 and reports errors, leaks and latency",
               "mamba2-loadtest"};
  std::string server_bin, model_path, random_size, api_key;
  std::vector<std::string> server_args;
  int port = 0, threads = 2, repetitions = 3, request_timeout = 120;
  int64_t parallel = 4, baseline = 4, second_turn_history = 0;
  LoadPlan plan;
  ServerLimits limits;  // the server's defaults
  bool no_stalls = false;

  app.add_option("--server", server_bin, "start this mamba2-server binary on a free port");
  app.add_option("-m,--model", model_path, "with --server: the model it serves");
  app.add_option("--random-size", random_size,
                 "with --server: write random weights of this released shape (130m, 370m, ...) "
                 "to --model first, unless the file exists");
  app.add_option("-t,--threads", threads, "with --server: its model threads (default 2)")
      ->check(CLI::Range(1, 1024));
  app.add_option("--parallel", parallel, "with --server: its slots (default 4)")
      ->check(CLI::Range(int64_t{1}, int64_t{256}));
  app.add_option("--server-arg", server_args, "with --server: one more argument for it");
  app.add_option("--port", port, "instead: a server already listening on 127.0.0.1:PORT")
      ->check(CLI::Range(1, 65535));
  app.add_option("--api-key", api_key, "with --port: its key (--server makes one up)");
  app.add_option("--max-body", limits.max_body, "the server's --max-body (default 1048576)")
      ->check(CLI::Range(int64_t{64}, int64_t{1} << 30));
  app.add_option("--max-prompt-tokens", limits.max_prompt_tokens,
                 "the server's --max-prompt-tokens (default 32768; --server passes it)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  app.add_option("--n-predict", limits.max_tokens,
                 "the server's -n, max_tokens at most (default 4096; --server passes it)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  app.add_option("--vocab", plan.vocab, "prompt ids are drawn below this (default 256)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
  app.add_option("-c,--clients", plan.clients, "concurrent clients (default 16)")
      ->check(CLI::Range(int64_t{1}, int64_t{256}));
  app.add_option("-r,--requests", plan.requests, "requests per client (default 20)")
      ->check(CLI::Range(int64_t{1}, int64_t{10000}));
  app.add_option("--prompt-lengths", plan.prompt_lengths,
                 "prompt lengths in tokens, mixed over the requests (default 8 32 128 512)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->delimiter(',');
  app.add_option("--max-tokens", plan.max_tokens, "max_tokens of each request (default 32)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  app.add_flag("--stream-only", plan.stream_only, "every request streams (default: every other)");
  app.add_option("--baseline", baseline,
                 "requests one client makes alone first, for the throughput ratio (default 4; 0: "
                 "none)")
      ->check(CLI::Range(int64_t{0}, int64_t{10000}));
  app.add_option("--hostile", plan.hostile, "malformed or hostile requests mixed in (default 200)")
      ->check(CLI::Range(int64_t{0}, int64_t{100000}));
  app.add_flag("--no-stalls", no_stalls,
               "leave out the hostile requests that stall until the server's read timeout");
  app.add_option("--timeout", request_timeout, "seconds a request may take (default 120)")
      ->check(CLI::Range(1, 3600));
  app.add_option("--time-limit", plan.time_limit_s,
                 "seconds after which no request starts (default 600)")
      ->check(CLI::Range(1.0, 86400.0));
  app.add_option("--second-turn", second_turn_history,
                 "instead of the load: time to first token of a chat's second turn on a history "
                 "of this many tokens, with the prefix cache and without")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  app.add_option("--repetitions", repetitions, "with --second-turn: runs (default 3)")
      ->check(CLI::Range(1, 100));

  return apps::run_app(app, argc, argv, [&] {
    if (server_bin.empty() == (port == 0)) {
      throw Error("mamba2-loadtest", "give --server BINARY -m MODEL or --port PORT");
    }
    std::unique_ptr<ServerLauncher> server;
    Target target{port, api_key};
    if (!server_bin.empty()) {
      if (model_path.empty()) throw Error("--server", "needs -m MODEL");
      if (!random_size.empty() && !std::filesystem::exists(model_path)) {
        std::fprintf(stderr, "mamba2-loadtest: writing %s random weights to %s\n",
                     random_size.c_str(), model_path.c_str());
        write_gguf_model(make_random_weights(released_model_config(random_size), 1234), model_path);
      }
      target.api_key = "loadtest-key";
      std::vector<std::string> args;
      for (const auto& [flag, value] :
           {std::pair<std::string, std::string>{"-m", model_path},
            {"-t", std::to_string(threads)},
            {"--parallel", std::to_string(parallel)},
            {"--api-key", target.api_key},
            {"--max-body", std::to_string(limits.max_body)},
            {"--max-prompt-tokens", std::to_string(limits.max_prompt_tokens)},
            {"-n", std::to_string(limits.max_tokens)}}) {
        args.insert(args.end(), {flag, value});
      }
      args.insert(args.end(), server_args.begin(), server_args.end());
      server = std::make_unique<ServerLauncher>(server_bin, args, 300);
      target.port = server->port();
    }
    if (second_turn_history > 0) {
      return second_turn(target, second_turn_history, plan.vocab, repetitions, request_timeout);
    }
    limits.api_key = target.api_key;
    limits.vocab = plan.vocab;
    plan.catalogue = hostile_requests(limits, !no_stalls);
    plan.request_timeout_s = request_timeout;
    const int64_t rss_before = server ? resident_bytes(server->pid()) : -1;

    // One request first, untimed: the server's weights paged in before anything is measured.
    CompletionCall warm_up = planned_call(plan, 0, 0);
    warm_up.max_tokens = std::min<int64_t>(plan.max_tokens, 4);
    const std::string warm_up_error = run_completion(target, warm_up, request_timeout).error;
    if (!warm_up_error.empty()) {
      throw Error("mamba2-loadtest", "the first request: " + warm_up_error);
    }

    std::optional<LoadResult> alone;
    if (baseline > 0) {
      LoadPlan single = plan;
      single.clients = 1;
      single.requests = baseline;
      single.hostile = 0;
      alone = run_load(target, single);
    }
    const LoadResult load = run_load(target, plan);
    const int64_t leaked = leaked_slots(target);
    const int64_t rss_after = server ? resident_bytes(server->pid()) : -1;
    // What of the growth is the prefix cache (bounded by the server's --cache-mem).
    const int64_t cache_bytes = metric(target, "mamba2_state_store_bytes").value_or(-1);

    // Every good request whole and well-formed, every hostile one a 4xx.
    std::vector<std::string> failures;
    std::vector<double> first_token, per_token;
    std::vector<const LoadResult*> runs = {&load};
    if (alone) runs.push_back(&*alone);
    for (const LoadResult* run : runs) {
      for (const CompletionOutcome& outcome : run->good) {
        if (!outcome.error.empty()) failures.push_back("good request: " + outcome.error);
      }
    }
    for (const CompletionOutcome& outcome : load.good) {
      if (outcome.first_token_s >= 0) first_token.push_back(outcome.first_token_s);
      if (outcome.per_token_s >= 0) per_token.push_back(outcome.per_token_s);
    }
    int64_t hostile_4xx = 0;
    int64_t hostile_closed = 0;
    for (const HostileOutcome& outcome : load.hostile) {
      if (outcome.status >= 400 && outcome.status < 500) {
        ++hostile_4xx;
      } else if (outcome.may_close && outcome.status == 0 && outcome.closed) {
        ++hostile_closed;
      } else {
        failures.push_back(
            outcome.name + ": " +
            (outcome.status ? "status " + std::to_string(outcome.status) : outcome.error));
      }
    }
    if (load.not_started > 0) {
      failures.push_back(std::to_string(load.not_started) +
                         " requests not started by --time-limit");
    }
    if (leaked > 0) failures.push_back(std::to_string(leaked) + " slots still busy after the run");
    if (server) {
      const int code = server->stop();
      if (code != 0) failures.push_back("the server exited with " + std::to_string(code));
    }

    const double single_rate = alone ? tokens_per_s(*alone) : 0;
    const double rate = tokens_per_s(load);
    std::printf("| %" PRId64 " clients x %" PRId64 " requests, max_tokens %" PRId64
                " | |\n| --- | ---: |\n",
                plan.clients, plan.requests, plan.max_tokens);
    std::printf("| good requests | %zu |\n", load.good.size() + (alone ? alone->good.size() : 0));
    std::printf("| errors | %zu |\n", failures.size());
    std::printf("| hostile requests answered 4xx | %" PRId64 " of %" PRId64 " |\n", hostile_4xx,
                plan.hostile);
    if (hostile_closed > 0) {
      std::printf("| hostile requests that had hung up, closed unanswered | %" PRId64 " |\n",
                  hostile_closed);
    }
    std::printf("| slots leaked | %" PRId64 " |\n", leaked);
    if (alone) std::printf("| one client alone | %.1f tokens/s |\n", single_rate);
    std::printf("| aggregate, %" PRId64 " clients | %.1f tokens/s", plan.clients, rate);
    if (alone && single_rate > 0) std::printf(" (%.2fx)", rate / single_rate);
    std::printf(" |\n| time to first token p50 / p99 | %s / %s |\n",
                ms(percentile(first_token, 50)).c_str(), ms(percentile(first_token, 99)).c_str());
    std::printf("| time per output token p50 / p99 | %s / %s |\n",
                ms(percentile(per_token, 50)).c_str(), ms(percentile(per_token, 99)).c_str());
    std::printf("| server RSS before / after | %s / %s |\n", mib(rss_before).c_str(),
                mib(rss_after).c_str());
    std::printf("| prefix states held after | %s |\n", mib(cache_bytes).c_str());
    std::printf("| wall time: good requests / all | %.1f s / %.1f s |\n", load.good_wall_s,
                load.wall_s);
    for (size_t i = 0; i < failures.size() && i < 20; ++i) {
      std::fprintf(stderr, "mamba2-loadtest: error: %s\n", failures[i].c_str());
    }
    return failures.empty() ? 0 : 1;
  });
}
