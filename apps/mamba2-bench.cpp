// mamba2-bench: end-to-end prompt processing (ppN) and generation (tgN) speed, shaped like
// llama-bench's table so the two can be compared line by line.
#include <sys/resource.h>

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "apps/common/cli.h"
#include "mamba2/error.h"
#include "mamba2/model_loader.h"
#include "mamba2/random_model.h"
#include "mamba2/session.h"
#include "quant/float16.h"
#include "runtime/gguf/gguf_model.h"

namespace {

using namespace mamba2;
using Clock = std::chrono::steady_clock;

struct Stats {
  double mean = 0;
  double stddev = 0;
};

Stats stats_of(const std::vector<double>& values) {
  Stats stats;
  stats.mean = std::accumulate(values.begin(), values.end(), 0.0) / double(values.size());
  for (double value : values) stats.stddev += (value - stats.mean) * (value - stats.mean);
  stats.stddev = values.size() > 1 ? std::sqrt(stats.stddev / double(values.size() - 1)) : 0.0;
  return stats;
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;
}

std::vector<int32_t> random_prompt(int64_t length, int64_t vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> dist(0, static_cast<int32_t>(vocab - 1));
  std::vector<int32_t> tokens(static_cast<size_t>(length));
  for (int32_t& token : tokens) token = dist(rng);
  return tokens;
}

int64_t parameter_count(const ModelWeights& weights) {
  int64_t count = 0;
  ModelWeights& mutable_weights = const_cast<ModelWeights&>(weights);  // for_each_tensor visits
  for_each_tensor(mutable_weights, [&](TensorSlot& slot) {
    if (slot.present) count += slot.view->numel();
  });
  return count;
}

// The large 2-D weights converted to `type` in memory, as mamba2-quantize would write them
// (gguf_tensor_type decides, q8_0 falling back to f16 for rows of partial blocks).
void convert_weights(ModelWeights& weights, DType type) {
  const bool tied = weights.lm_head.data == weights.embedding.data;
  for_each_tensor(weights, [&](TensorSlot& slot) {
    TensorView& view = *slot.view;
    if (!slot.present || view.empty()) return;
    const DType target = gguf_tensor_type(slot.role, view.shape, type);
    if (target == view.dtype) return;
    const int64_t cols = view.shape[view.shape.rank - 1];
    const int64_t rows = view.numel() / cols;
    const uint64_t in_row = *dtype_bytes(view.dtype, cols), out_row = *dtype_bytes(target, cols);
    std::vector<std::byte> bytes(out_row * rows);
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
      convert_row_to_f32(view.dtype, view.data + r * in_row, row.data(), cols);
      convert_row_from_f32(target, row.data(), &bytes[r * out_row], cols);
    }
    view = weights.own(target, view.shape, std::move(bytes));
  });
  if (tied) weights.lm_head = weights.embedding;
}

std::string type_label(const ModelWeights& weights) {
  std::string label(
      dtype_name(weights.layers.empty() ? DType::kF32 : weights.layers[0].in_proj.dtype));
  for (char& c : label) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return label;
}

uint64_t weight_bytes(const ModelWeights& weights) {
  uint64_t bytes = 0;
  ModelWeights& mutable_weights = const_cast<ModelWeights&>(weights);
  for_each_tensor(mutable_weights, [&](TensorSlot& slot) {
    if (slot.present) bytes += slot.view->nbytes;
  });
  return bytes;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Measures prompt processing and generation speed of a Mamba-2 model",
               "mamba2-bench"};
  std::string model_path, size, scan = "auto", type_name;
  int64_t prompt = 512, generate = 128, chunk = 0;
  int threads = 2, repetitions = 5;
  app.add_option("MODEL", model_path, "GGUF file or model directory");
  app.add_option("--size", size, "random weights of a released shape: 130m 370m 780m 1.3b 2.7b");
  app.add_option("-p,--n-prompt", prompt, "prompt tokens (0: skip)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 24));
  app.add_option("-n,--n-gen", generate, "generated tokens (0: skip)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 24));
  app.add_option("-t,--threads", threads, "threads")->check(CLI::Range(1, 1024));
  app.add_option("-r,--repetitions", repetitions, "repetitions of each test")
      ->check(CLI::Range(1, 1000));
  app.add_option("--scan", scan, "auto, chunked, associative or recurrent");
  app.add_option("--type", type_name,
                 "convert the projections and embedding to f32, f16, bf16 or q8_0 in memory "
                 "(default: as loaded; random weights are f32)");
  app.add_option("--chunk", chunk, "SSD chunk size (default: the model's)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 16));

  return apps::run_app(app, argc, argv, [&] {
    if (model_path.empty() == size.empty()) {
      throw Error("mamba2-bench", "give either MODEL or --size (see --help)");
    }
    const auto load_start = Clock::now();
    std::optional<DType> type;
    if (!type_name.empty()) {
      type = dtype_from_name(type_name);
      if (!type) throw Error("--type", "unknown type '" + type_name + "' (f32, f16, bf16 or q8_0)");
    }
    ModelWeights weights = size.empty() ? load_model_weights(model_path)
                                        : make_random_weights(released_model_config(size), 1234);
    if (type) convert_weights(weights, *type);
    std::shared_ptr<const Model> model = std::make_shared<const Model>(std::move(weights));
    const double load_seconds = std::chrono::duration<double>(Clock::now() - load_start).count();
    const ModelConfig& config = model->config();
    SessionOptions options;
    options.threads = threads;
    options.scan = parse_scan_mode(scan);
    options.chunk_size = chunk;

    const std::string name = size.empty() ? model->weights().name : "mamba2 " + size;
    std::printf("| model | size | params | backend | threads | scan | test | t/s |\n");
    std::printf("| --- | ---: | ---: | --- | ---: | --- | ---: | ---: |\n");
    auto report = [&](const std::string& test, const std::vector<double>& rates) {
      const Stats stats = stats_of(rates);
      std::printf("| %s %s | %.2f MiB | %.2f M | CPU | %d | %s | %s | %.2f ± %.2f |\n",
                  name.c_str(), type_label(model->weights()).c_str(),
                  double(weight_bytes(model->weights())) / (1 << 20),
                  double(parameter_count(model->weights())) / 1e6, threads, scan.c_str(),
                  test.c_str(), stats.mean, stats.stddev);
      std::fflush(stdout);
    };

    if (prompt > 0) {
      const auto tokens = random_prompt(prompt, config.vocab_size, 1);
      std::vector<double> rates;
      for (int r = 0; r < repetitions; ++r) {
        Session session(model, options);
        const auto start = Clock::now();
        session.prefill(tokens);
        const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
        rates.push_back(double(prompt) / seconds);
      }
      report("pp" + std::to_string(prompt), rates);
    }
    if (generate > 0) {
      std::vector<double> rates;
      for (int r = 0; r < repetitions; ++r) {
        Session session(model, options);
        int32_t token = 1;
        const auto start = Clock::now();
        for (int64_t k = 0; k < generate; ++k) {
          const auto logits = session.decode(token);
          token = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) -
                                       logits.begin()) %
                  static_cast<int32_t>(config.vocab_size);
        }
        const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
        rates.push_back(double(generate) / seconds);
      }
      report("tg" + std::to_string(generate), rates);
    }
    std::printf("\nload: %.3f s, peak RSS: %.1f MiB\n", load_seconds, peak_rss_mib());
    return 0;
  });
}
