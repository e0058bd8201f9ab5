// mamba2-bench: end-to-end prompt processing (ppN) and generation (tgN) speed, shaped like
// llama-bench's table so the two can be compared line by line.
#include <sys/resource.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <vector>

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

std::string type_label(const ModelWeights& weights) {
  std::string label(
      dtype_name(weights.layers.empty() ? DType::kF32 : weights.layers[0].in_proj.dtype));
  for (char& c : label) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return label;
}

// The row's mean rate as a percentage of the limit it runs against: decode of the read bandwidth,
// prefill of the peak of the arithmetic its weights' kernel uses.
void add_roofline(BenchRow& row, const MachineLimits& limits, const ModelWeights& weights,
                  int64_t chunk_size) {
  const ModelCosts costs = model_costs(weights, chunk_size, row.n_prompt);
  const double tokens_per_s = mean_std(row.samples_ts()).mean;
  if (row.n_gen > 0) {
    const double batch = double(row.n_batch);
    row.roofline_limit = "memory_bandwidth";
    row.roofline_work_per_token = costs.weight_bytes_per_step / batch + costs.state_bytes_per_token;
    row.roofline_pct = 100.0 * row.roofline_work_per_token * tokens_per_s / limits.read_bytes_per_s;
    return;
  }
  row.roofline_work_per_token = costs.prefill_flops_per_token;
  const DType type = weights.layers.empty() ? DType::kF32 : weights.layers[0].in_proj.dtype;
  const ProjectionArithmetic arithmetic = projection_arithmetic(type, row.n_prompt);
  row.roofline_limit = std::string(arithmetic_name(arithmetic));
  const std::optional<double> peak = limits.peak(arithmetic);
  if (peak) row.roofline_pct = 100.0 * costs.prefill_flops_per_token * tokens_per_s / *peak;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Measures prompt processing and generation speed of a Mamba-2 or Mamba-1 model",
               "mamba2-bench"};
  std::string model_path, size, scan = "auto", type_name;
  int64_t prompt = 512, generate = 128, chunk = 0, batch = 1;
  int threads = 2, repetitions = 5;
  bool json = false, roofline = false;
  app.add_option("MODEL", model_path, "GGUF file or model directory");
  app.add_option(
      "--size", size,
      "random weights of a released shape: 130m 370m 780m 1.3b 2.7b codestral-7b (Mamba-2), "
      "mamba-130m mamba-370m mamba-790m mamba-1.4b mamba-2.8b (Mamba-1)");
  app.add_option("-p,--n-prompt", prompt, "prompt tokens (0: skip)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 24));
  app.add_option("-n,--n-gen", generate, "generated tokens (0: skip)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 24));
  app.add_option("-t,--threads", threads, "threads")->check(CLI::Range(1, 1024));
  app.add_option("-r,--repetitions", repetitions,
                 "timed repetitions of each test (after one untimed warm-up run)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--scan", scan, "auto, chunked, associative or recurrent");
  app.add_option("--type", type_name,
                 "convert the projections and embedding to a type in memory: " + dtype_names() +
                     " (default: as loaded; random weights are f32)");
  app.add_option("--chunk", chunk, "SSD chunk size (default: the model's)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 16));
  app.add_option("--batch", batch,
                 "also run tgN with this many independent sessions decoding together (each weight "
                 "read once per step for all of them, mamba2::BatchDecoder); its row reports the "
                 "aggregate tokens/s over the sessions (JSON: n_batch, avg_ts, and "
                 "avg_ts_per_session), next to the single-session tgN row")
      ->check(CLI::Range(int64_t{1}, int64_t{4096}));
  app.add_flag("--json", json,
               "print only a JSON list on stdout, one object per test with llama-bench's field "
               "names (avg_ts, samples_ns, ...) plus ours (scan, chunk_size, load_ms, "
               "peak_rss_bytes); progress goes to stderr");
  app.add_flag(
      "--roofline", roofline,
      "after the tests, measure this machine's read bandwidth and peak f32 FMA, "
      "AVX512-BF16 and VNNI rates with -t threads (short probes, a 2 GiB buffer at most; "
      "peak RSS is taken before them) and give each test as a percentage of its limit: "
      "tg of bandwidth (weights per step + state per token), pp of the arithmetic peak "
      "(FMA for f32; AMX, AVX512-BF16 or FMA for bf16, as its prompts run; VNNI for q8_0)");

  return apps::run_app(app, argc, argv, [&] {
    if (model_path.empty() == size.empty()) {
      throw Error("MODEL", "give a model (GGUF file or directory) or --size (see --help)");
    }
    const auto load_start = Clock::now();
    std::optional<DType> type;
    if (!type_name.empty()) {
      type = dtype_from_name(type_name);
      if (!type || !engine_computes_with(*type)) {
        throw Error("--type", "unknown type '" + type_name + "' (" + dtype_names() + ")");
      }
    }
    // Random weights are drawn in the type asked for, tensor by tensor: a 7B model in f32 (29 GB)
    // need not fit to bench it in q8_0.
    const QuantizationPolicy policy{type.value_or(DType::kF32)};
    ModelWeights weights = size.empty()
                               ? load_model_weights(model_path)
                               : make_random_weights(released_model_config(size), 1234, policy);
    if (type) convert_weights(weights, policy);
    apps::LoadProgress progress("mamba2-bench");
    const ThreadingContext threading(threads);
    std::shared_ptr<const Model> model =
        std::make_shared<const Model>(std::move(weights), progress.callback(), threading);
    const double load_seconds = std::chrono::duration<double>(Clock::now() - load_start).count();
    const ModelConfig& config = model->config();
    SessionOptions options;
    options.threading = threading;
    options.scan = parse_scan_mode(scan);
    options.chunk_size = chunk;

    BenchInfo info;
    info.model_filename = model_path;
    // Mamba-1 sizes name their architecture already ("mamba-130m").
    const std::string size_name = size.starts_with("mamba-") ? size : "mamba2 " + size;
    info.model_type =
        (size.empty() ? model->weights().name : size_name) + " " + type_label(model->weights());
    const TensorTotals totals = tensor_totals(model->weights());
    info.model_size = totals.bytes;
    info.model_n_params = totals.weights;
    info.cpu_info = cpu_model_name();
    info.threads = threads;
    info.scan = scan;
    info.chunk_size = chunk > 0 ? chunk : config.chunk_size;
    info.load_ms = load_seconds * 1000.0;

    // The table goes to stdout as rows finish (with --roofline at the end, once the limits are
    // known); with --json stdout holds only the JSON list.
    const bool rows_as_they_finish = !json && !roofline;
    if (rows_as_they_finish) print_table_header(stdout, false);
    std::vector<BenchRow> rows;
    auto finish = [&](BenchRow row) {
      if (rows_as_they_finish) {
        print_table_row(stdout, info, row);
      } else {
        std::fprintf(stderr, "mamba2-bench: %s done\n", row.test.c_str());
      }
      rows.push_back(std::move(row));
    };

    // Like llama-bench, each test runs once unrecorded first (r = -1): the weights are paged in
    // and the buffers touched before anything is timed.
    constexpr int kWarmUp = -1;
    if (prompt > 0) {
      const auto tokens = random_prompt(prompt, config.vocab_size, 1);
      BenchRow row{
          .test = "pp" + std::to_string(prompt), .n_prompt = prompt, .test_time = utc_now()};
      for (int r = kWarmUp; r < repetitions; ++r) {
        Session session(model, options);
        const auto start = Clock::now();
        session.prefill(tokens);
        if (r >= 0) row.samples_ns.push_back(nanoseconds_since(start));
      }
      finish(std::move(row));
    }
    auto greedy = [&](std::span<const float> logits) {
      return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin()) %
             static_cast<int32_t>(config.vocab_size);
    };
    if (generate > 0) {
      BenchRow row{
          .test = "tg" + std::to_string(generate), .n_gen = generate, .test_time = utc_now()};
      for (int r = kWarmUp; r < repetitions; ++r) {
        Session session(model, options);
        int32_t token = 1;
        const auto start = Clock::now();
        for (int64_t k = 0; k < generate; ++k) token = greedy(session.decode(token));
        if (r >= 0) row.samples_ns.push_back(nanoseconds_since(start));
      }
      finish(std::move(row));
    }
    if (generate > 0 && batch > 1) {
      BenchRow row{.test = "tg" + std::to_string(generate),
                   .n_gen = generate,
                   .n_batch = batch,
                   .test_time = utc_now()};
      const int64_t vocab = config.vocab_padded;
      BatchDecoder decoder(model, batch, threading);
      for (int r = kWarmUp; r < repetitions; ++r) {
        std::vector<Session> sessions(static_cast<size_t>(batch), Session(model, options));
        std::vector<Session*> pointers;
        for (Session& session : sessions) pointers.push_back(&session);
        std::vector<int32_t> tokens(static_cast<size_t>(batch));
        for (int64_t s = 0; s < batch; ++s) tokens[s] = static_cast<int32_t>(1 + s);
        const auto start = Clock::now();
        for (int64_t k = 0; k < generate; ++k) {
          const auto logits = decoder.decode(pointers, tokens);
          for (int64_t s = 0; s < batch; ++s) tokens[s] = greedy(logits.subspan(s * vocab, vocab));
        }
        if (r >= 0) row.samples_ns.push_back(nanoseconds_since(start));
      }
      finish(std::move(row));
    }
    info.peak_rss_bytes = peak_rss_bytes();
    if (roofline) {
      std::fprintf(stderr, "mamba2-bench: measuring the roofline\n");
      info.limits = measure_machine_limits(threads);
      for (BenchRow& row : rows) {
        add_roofline(row, *info.limits, model->weights(), info.chunk_size);
      }
    }
    if (json) {
      std::printf("%s\n", bench_json(info, rows).c_str());
      return 0;
    }
    if (!rows_as_they_finish) {
      print_table_header(stdout, roofline);
      for (const BenchRow& row : rows) print_table_row(stdout, info, row);
    }
    print_table_footer(stdout, info);
    return 0;
  });
}
