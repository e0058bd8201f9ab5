// mamba2-bench: end-to-end prompt processing (ppN) and generation (tgN) speed, shaped like
// llama-bench so the two can be compared line by line: the same list flags (every combination
// of their values is one row), the same output formats and field names.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "bench_report/bench_lists.h"
#include "bench_report/bench_output.h"
#include "bench_report/model_costs.h"
#include "common/cli.h"
#include "common/load_progress.h"
#include "mamba2/batch_decoder.h"
#include "mamba2/dtype_names.h"
#include "mamba2/error.h"
#include "mamba2/machine_limits.h"
#include "mamba2/model_loader.h"
#include "mamba2/random_model.h"
#include "mamba2/session.h"

namespace {

using namespace mamba2;
using namespace mamba2::apps;
using Clock = std::chrono::steady_clock;

constexpr int64_t kMaxTokens = int64_t{1} << 24;
constexpr int64_t kDefaultBatchSize = 2048;  // llama-bench's default n_batch

uint64_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // ru_maxrss is in KiB on Linux
}

std::string cpu_model_name() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
  }
  return "unknown";
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

double nanoseconds_since(Clock::time_point start) {
  return std::chrono::duration<double, std::nano>(Clock::now() - start).count();
}

std::vector<int32_t> random_prompt(int64_t length, int64_t vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> dist(0, static_cast<int32_t>(vocab - 1));
  std::vector<int32_t> tokens(static_cast<size_t>(length));
  for (int32_t& token : tokens) token = dist(rng);
  return tokens;
}

DType projection_type(const ModelWeights& weights) {
  return weights.layers.empty() ? DType::kF32 : weights.layers[0].in_proj.dtype;
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// The flags' values, each a list; every combination is one row.
struct BenchLists {
  std::vector<int64_t> n_prompt, n_gen, threads, n_batch, sessions;
  std::vector<std::string> scans;
  std::vector<std::optional<DType>> types;  // nullopt: the weights as loaded
};

// A row waiting for --roofline's limits: the arithmetic whose peak bounds it (none: bandwidth).
struct RooflinePending {
  std::optional<ProjectionArithmetic> arithmetic;
};

// Runs the tests of one model (one weight type) for every combination of the other lists.
class Runner {
 public:
  Runner(std::shared_ptr<const Model> model, BenchRow base, int repetitions, int64_t chunk)
      : model_(std::move(model)),
        base_(std::move(base)),
        repetitions_(repetitions),
        chunk_(chunk) {}

  template <class Finish>
  void run(const BenchLists& lists, Finish&& finish) {
    const ModelConfig& config = model_->config();
    for (int64_t threads : lists.threads) {
      const ThreadingContext threading(static_cast<int>(threads));
      for (int64_t n_batch : lists.n_batch) {
        for (const std::string& scan : lists.scans) {
          SessionOptions options;
          options.threading = threading;
          options.scan = parse_scan_mode(scan);
          options.chunk_size = chunk_;
          BenchRow row = base_;
          row.threads = static_cast<int>(threads);
          row.n_batch = n_batch;
          row.scan = scan;
          row.chunk_size = chunk_ > 0 ? chunk_ : config.chunk_size;
          // Like llama-bench's context, one session serves every repetition of every test of
          // this combination; its state is cleared before each repetition.
          Session session(model_, options);
          for (int64_t n_prompt : lists.n_prompt) {
            if (n_prompt <= 0) continue;  // 0 skips the test, as in llama-bench
            finish(prompt_test(session, row, n_prompt), prompt_limit(row, n_prompt));
          }
          for (int64_t n_gen : lists.n_gen) {
            if (n_gen <= 0) continue;
            for (int64_t sessions : lists.sessions) {
              finish(sessions == 1 ? generation_test(session, row, n_gen)
                                   : batch_test(options, threading, row, n_gen, sessions),
                     RooflinePending{});
            }
          }
        }
      }
    }
  }

 private:
  // The tokens a projection call sees in a ppN test: a prefill call's piece, cut into chunks.
  int64_t projection_tokens(const BenchRow& row, int64_t n_prompt) const {
    return std::min({n_prompt, row.n_batch, row.chunk_size});
  }

  RooflinePending prompt_limit(const BenchRow& row, int64_t n_prompt) const {
    return {projection_arithmetic(projection_type(model_->weights()),
                                  projection_tokens(row, n_prompt))};
  }

  BenchRow start_row(const BenchRow& row, int64_t n_prompt, int64_t n_gen, int64_t sessions,
                     int64_t projection_rows) const {
    BenchRow out = row;
    out.test = n_prompt > 0 ? "pp" + std::to_string(n_prompt) : "tg" + std::to_string(n_gen);
    out.n_prompt = n_prompt;
    out.n_gen = n_gen;
    out.n_sessions = sessions;
    out.kernel = projection_kernel(projection_type(model_->weights()), projection_rows);
    out.test_time = utc_now();
    const ModelCosts costs = model_costs(model_->weights(), out.chunk_size, n_prompt);
    out.roofline_limit = n_prompt > 0 ? "" : "memory_bandwidth";
    out.roofline_work_per_token =
        n_prompt > 0 ? costs.prefill_flops_per_token
                     : costs.weight_bytes_per_step / double(sessions) + costs.state_bytes_per_token;
    return out;
  }

  // Each test runs once unrecorded first (r = -1), as llama-bench's warm-up: the weights are paged
  // in and the buffers touched before anything is timed.
  static constexpr int kWarmUp = -1;

  BenchRow prompt_test(Session& session, const BenchRow& row, int64_t n_prompt) {
    BenchRow out = start_row(row, n_prompt, 0, 1, projection_tokens(row, n_prompt));
    const auto tokens = random_prompt(n_prompt, model_->config().vocab_size, 1);
    const auto piece = static_cast<size_t>(row.n_batch);
    for (int r = kWarmUp; r < repetitions_; ++r) {
      session.reset();
      const auto start = Clock::now();
      for (size_t begin = 0; begin < tokens.size(); begin += piece) {
        session.prefill(std::span(tokens).subspan(begin, std::min(piece, tokens.size() - begin)));
      }
      if (r >= 0) out.samples_ns.push_back(nanoseconds_since(start));
    }
    return out;
  }

  int32_t greedy(std::span<const float> logits) const {
    return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin()) %
           static_cast<int32_t>(model_->config().vocab_size);
  }

  BenchRow generation_test(Session& session, const BenchRow& row, int64_t n_gen) {
    BenchRow out = start_row(row, 0, n_gen, 1, 1);
    for (int r = kWarmUp; r < repetitions_; ++r) {
      session.reset();
      int32_t token = 1;
      const auto start = Clock::now();
      for (int64_t k = 0; k < n_gen; ++k) token = greedy(session.decode(token));
      if (r >= 0) out.samples_ns.push_back(nanoseconds_since(start));
    }
    return out;
  }

  // n_gen steps of `sessions` independent sessions decoding together; the row's tokens/s are the
  // aggregate over the sessions.
  BenchRow batch_test(const SessionOptions& options, const ThreadingContext& threading,
                      const BenchRow& row, int64_t n_gen, int64_t sessions) {
    BenchRow out = start_row(row, 0, n_gen, sessions, sessions);
    const int64_t vocab = model_->config().vocab_padded;
    BatchDecoder decoder(model_, sessions, threading);
    std::vector<Session> states(static_cast<size_t>(sessions), Session(model_, options));
    std::vector<Session*> pointers;
    for (Session& session : states) pointers.push_back(&session);
    std::vector<int32_t> tokens(static_cast<size_t>(sessions));
    for (int r = kWarmUp; r < repetitions_; ++r) {
      for (int64_t s = 0; s < sessions; ++s) {
        states[s].reset();
        tokens[s] = static_cast<int32_t>(1 + s);
      }
      const auto start = Clock::now();
      for (int64_t k = 0; k < n_gen; ++k) {
        const auto logits = decoder.decode(pointers, tokens);
        for (int64_t s = 0; s < sessions; ++s) tokens[s] = greedy(logits.subspan(s * vocab, vocab));
      }
      if (r >= 0) out.samples_ns.push_back(nanoseconds_since(start));
    }
    return out;
  }

  std::shared_ptr<const Model> model_;
  BenchRow base_;
  int repetitions_;
  int64_t chunk_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Measures prompt processing and generation speed of a Mamba-2 or Mamba-1 model",
               "mamba2-bench"};
  std::string model_path, size, output = "md";
  std::vector<std::string> prompt_lists, gen_lists, thread_lists, batch_lists, session_lists,
      scan_lists, type_lists;
  int64_t chunk = 0;
  int repetitions = 5;
  bool roofline = false;
  // Each list flag may be given several times; every occurrence adds its values (llama-bench).
  auto list_option = [&](const std::string& names, std::vector<std::string>& into,
                         const std::string& help) {
    app.add_option(names, into, help)
        ->type_size(1)
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  };
  app.add_option("MODEL", model_path, "GGUF file or model directory");
  app.add_option(
      "--size", size,
      "random weights of a released shape: 130m 370m 780m 1.3b 2.7b codestral-7b (Mamba-2), "
      "mamba-130m mamba-370m mamba-790m mamba-1.4b mamba-2.8b (Mamba-1)");
  list_option("-p,--n-prompt", prompt_lists,
              "prompt tokens (default 512; 0: skip). Every list flag takes llama-bench's lists: "
              "comma-separated items first, first-last, first-last+step or first-last*factor, "
              "e.g. -p 16,64,512 or -p 16-1024*4; every combination of the lists is one row");
  list_option("-n,--n-gen", gen_lists, "generated tokens (default 128; 0: skip)");
  list_option("-t,--threads", thread_lists, "threads (default 2)");
  list_option("-b,--batch-size", batch_lists,
              "prompt tokens per Session::prefill call, llama-bench's n_batch: a prompt runs in "
              "pieces of this many (default 2048)");
  list_option("--sessions", session_lists,
              "tgN with this many independent sessions decoding together (each weight read "
              "once per step for all of them, mamba2::BatchDecoder; default 1); the row's t/s is "
              "the aggregate over the sessions");
  list_option("--scan", scan_lists, "auto, chunked, associative or recurrent (default auto)");
  list_option("--type", type_lists,
              "convert the projections and embedding to a type in memory: " + dtype_names() +
                  " (default: as loaded; random weights are f32)");
  app.add_option("-r,--repetitions", repetitions,
                 "timed repetitions of each test (after one untimed warm-up run)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--chunk", chunk, "SSD chunk size (default: the model's)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 16));
  app.add_option("-o,--output", output,
                 "md (a markdown table, default), csv, json or jsonl, with llama-bench's field "
                 "names plus ours (type, scan, chunk_size, kernel, n_sessions, load_ms, "
                 "peak_rss_bytes); stdout holds only this, progress goes to stderr");
  app.add_flag(
      "--roofline", roofline,
      "after the tests, measure this machine's read bandwidth and peak f32 FMA, "
      "AVX512-BF16 and VNNI rates for each thread count (short probes, a 2 GiB buffer at most; "
      "peak RSS is taken before them) and give each test as a percentage of its limit: "
      "tg of bandwidth (weights per step + state per token), pp of the peak of the arithmetic "
      "its kernel path uses (FMA for f32; AMX, AVX512-BF16 or FMA for bf16; VNNI for q8_0)");

  return apps::run_app(app, argc, argv, [&] {
    if (model_path.empty() == size.empty()) {
      throw Error("MODEL", "give a model (GGUF file or directory) or --size (see --help)");
    }
    BenchLists lists;
    lists.n_prompt = parse_int_lists(prompt_lists, "-p", 0, kMaxTokens, {512});
    lists.n_gen = parse_int_lists(gen_lists, "-n", 0, kMaxTokens, {128});
    lists.threads = parse_int_lists(thread_lists, "-t", 1, 1024, {2});
    lists.n_batch = parse_int_lists(batch_lists, "-b", 1, kMaxTokens, {kDefaultBatchSize});
    lists.sessions = parse_int_lists(session_lists, "--sessions", 1, 4096, {1});
    lists.scans = parse_name_lists(scan_lists, "--scan", {"auto"});
    for (const std::string& scan : lists.scans) parse_scan_mode(scan);  // refuse typos up front
    for (const std::string& name : parse_name_lists(type_lists, "--type", {})) {
      const std::optional<DType> type = dtype_from_name(name);
      if (!type || !engine_computes_with(*type)) {
        throw Error("--type", "unknown type '" + name + "' (" + dtype_names() + ")");
      }
      lists.types.push_back(type);
    }
    if (lists.types.empty()) lists.types.push_back(std::nullopt);
    const OutputFormat format = parse_output_format(output);

    BenchInfo info;
    info.model_filename = model_path;
    info.cpu_info = cpu_model_name();
    const TableColumns columns{.n_batch = lists.n_batch != std::vector<int64_t>{kDefaultBatchSize},
                               .sessions = lists.sessions != std::vector<int64_t>{1},
                               .roofline = roofline};
    BenchPrinter printer(stdout, format, columns);
    // Rows print as they finish, or with --roofline all at the end once the limits are known.
    std::vector<BenchRow> rows;
    std::vector<RooflinePending> pending;
    if (!roofline) printer.header(info);
    auto finish = [&](BenchRow row, RooflinePending limit) {
      std::fprintf(stderr, "mamba2-bench: %s %s %d threads %s done\n", row.type.c_str(),
                   row.test.c_str(), row.threads, row.scan.c_str());
      info.peak_rss_bytes = peak_rss_bytes();
      if (roofline) {
        rows.push_back(std::move(row));
        pending.push_back(limit);
      } else {
        printer.row(info, row);
      }
    };

    const int max_threads =
        static_cast<int>(*std::max_element(lists.threads.begin(), lists.threads.end()));
    for (const std::optional<DType>& type : lists.types) {
      const auto load_start = Clock::now();
      // Random weights are drawn in the type asked for, tensor by tensor: a 7B model in f32
      // (29 GB) need not fit to bench it in q8_0.
      const QuantizationPolicy policy{type.value_or(DType::kF32)};
      ModelWeights weights = size.empty()
                                 ? load_model_weights(model_path)
                                 : make_random_weights(released_model_config(size), 1234, policy);
      if (type) convert_weights(weights, policy);
      apps::LoadProgress progress("mamba2-bench");
      auto model = std::make_shared<const Model>(std::move(weights), progress.callback(),
                                                 ThreadingContext(max_threads));
      BenchRow base;
      const DType loaded = projection_type(model->weights());
      base.type = std::string(dtype_name(loaded));
      // Mamba-1 sizes name their architecture already ("mamba-130m").
      const std::string size_name = size.starts_with("mamba-") ? size : "mamba2 " + size;
      base.model_type = (size.empty() ? model->weights().name : size_name) + " " + upper(base.type);
      const TensorTotals totals = tensor_totals(model->weights());
      base.model_size = totals.bytes;
      base.model_n_params = totals.weights;
      base.load_ms = std::chrono::duration<double, std::milli>(Clock::now() - load_start).count();
      Runner(model, base, repetitions, chunk).run(lists, finish);
    }
    info.peak_rss_bytes = peak_rss_bytes();
    if (!roofline) {
      printer.footer(info);
      return 0;
    }
    for (int64_t threads : lists.threads) {
      if (info.limits.contains(static_cast<int>(threads))) continue;
      std::fprintf(stderr, "mamba2-bench: measuring the roofline on %lld threads\n",
                   static_cast<long long>(threads));
      info.limits[static_cast<int>(threads)] = measure_machine_limits(static_cast<int>(threads));
    }
    for (size_t i = 0; i < rows.size(); ++i) {
      BenchRow& row = rows[i];
      const MachineLimits& limits = info.limits.at(row.threads);
      const double tokens_per_s = mean_std(row.samples_ts()).mean;
      const std::optional<double> peak = pending[i].arithmetic
                                             ? limits.peak(*pending[i].arithmetic)
                                             : std::optional<double>(limits.read_bytes_per_s);
      if (pending[i].arithmetic) row.roofline_limit = arithmetic_name(*pending[i].arithmetic);
      if (peak) row.roofline_pct = 100.0 * row.roofline_work_per_token * tokens_per_s / *peak;
    }
    printer.header(info);
    for (const BenchRow& row : rows) printer.row(info, row);
    printer.footer(info);
    return 0;
  });
}
