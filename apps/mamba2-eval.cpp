// mamba2-eval: runs token ids through a model and writes what the reference fixtures hold:
// logits at every position, the final states, a greedy continuation; or measures perplexity.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/cli.h"
#include "common/load_progress.h"
#include "mamba2/error.h"
#include "mamba2/model_loader.h"
#include "mamba2/npy.h"
#include "mamba2/perplexity.h"
#include "mamba2/session.h"
#include "mamba2/tokenizer.h"

namespace {

using namespace mamba2;

int32_t argmax(std::span<const float> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

void write_states(const std::filesystem::path& dir, const ModelConfig& c,
                  const SessionState& state) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) throw Error(dir.string(), "cannot create directory: " + error.message());
  // Mamba-1's state is [n_layer, d_inner, d_state], as its reference writes it (headdim 1).
  const std::vector<int64_t> ssm_shape =
      c.architecture == Architecture::kMamba1
          ? std::vector<int64_t>{c.n_layer, c.d_inner, c.d_state}
          : std::vector<int64_t>{c.n_layer, c.nheads, c.headdim, c.d_state};
  write_npy(dir / "ssm_state.npy", ssm_shape, state.ssm);
  const int64_t conv_shape[] = {c.n_layer, c.conv_dim, c.d_conv};
  write_npy(dir / "conv_state.npy", conv_shape, conv_state_channels_first(c, state));
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string(), "cannot open");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void report_perplexity(const Model& model, Session& session, const std::string& path) {
  if (!model.weights().tokenizer) {
    throw Error(model.weights().name,
                "the model has no tokenizer, so --perplexity cannot read text");
  }
  const Tokenizer tokenizer(*model.weights().tokenizer, model.weights().name);
  const std::string text = read_file(path);
  const std::vector<int32_t> tokens = tokenizer.encode(text);
  if (tokens.size() < 2) throw Error(path, "needs at least two tokens of text");
  const auto predicted_bytes =
      static_cast<int64_t>(tokenizer.decode(std::span(tokens).subspan(1)).size());
  const PerplexityResult result =
      measure_perplexity(session, tokens, predicted_bytes, [&](int64_t done) {
        std::fprintf(stderr, "\rperplexity: %lld/%zu tokens", static_cast<long long>(done),
                     tokens.size());
      });
  std::fprintf(stderr, "\n");
  std::printf("perplexity: %.4f bits_per_byte: %.4f\n", result.perplexity, result.bits_per_byte);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Runs token ids through a Mamba-2 or Mamba-1 model: logits, states, greedy tokens, "
      "perplexity",
      "mamba2-eval"};
  std::string model_path, ids_text, logits_out, states_out, perplexity_file, scan = "auto";
  int generate = 0;
  int threads = 0;
  int64_t chunk = 0;
  app.add_option("MODEL", model_path, "GGUF file or model directory")->required();
  auto* ids_option = app.add_option("--ids", ids_text, "prompt token ids, e.g. 1,2,3");
  app.add_option("--logits-out", logits_out, "write float32 logits [T, vocab_padded] as .npy")
      ->needs(ids_option);
  app.add_option("--states-out", states_out,
                 "write ssm_state.npy and conv_state.npy (the fixtures' layout) into DIR")
      ->needs(ids_option);
  app.add_option("--generate", generate, "print N greedy token ids after the prompt")
      ->check(CLI::Range(0, 1 << 20))
      ->needs(ids_option);
  auto* perplexity_option =
      app.add_option("--perplexity", perplexity_file,
                     "text file: perplexity and bits per byte (needs a tokenizer)");
  ids_option->excludes(perplexity_option);
  app.add_option("--scan", scan, "auto, chunked, associative or recurrent");
  app.add_option("-t,--threads", threads, "threads (default: all cores)")
      ->check(CLI::Range(0, 1024));
  app.add_option("--chunk", chunk, "SSD chunk size (default: the model's)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 16));

  return apps::run_app(app, argc, argv, [&] {
    if (ids_text.empty() && perplexity_file.empty()) {
      throw Error("give --ids or --perplexity (see --help)");
    }
    if (!logits_out.empty()) apps::check_output_path(logits_out, "--logits-out");
    SessionOptions options;
    options.threading = ThreadingContext(threads);
    options.scan = parse_scan_mode(scan);
    options.chunk_size = chunk;
    apps::LoadProgress progress("mamba2-eval");
    const auto model = load_model(model_path, progress.callback(), options.threading);
    const ModelConfig& config = model->config();
    Session session(model, options);

    if (!perplexity_file.empty()) {
      report_perplexity(*model, session, perplexity_file);
      return 0;
    }
    const std::vector<int32_t> ids = apps::parse_ids(ids_text, "--ids");
    std::vector<float> all_logits;
    LogitsCallback keep_logits;
    if (!logits_out.empty()) {
      all_logits.reserve(ids.size() * static_cast<size_t>(config.vocab_padded));
      keep_logits = [&](int64_t, std::span<const float> logits) {
        all_logits.insert(all_logits.end(), logits.begin(), logits.end());
      };
    }
    std::span<const float> logits = session.prefill(ids, keep_logits);
    if (!logits_out.empty()) {
      const int64_t shape[] = {static_cast<int64_t>(ids.size()), config.vocab_padded};
      write_npy(logits_out, shape, all_logits);
    }
    if (!states_out.empty()) write_states(states_out, config, session.state());

    if (generate > 0) {
      std::string line;
      for (int k = 0; k < generate; ++k) {
        const int32_t token = argmax(logits);
        line += (k ? " " : "") + std::to_string(token);
        if (k + 1 < generate) logits = session.decode(token);
      }
      std::printf("%s\n", line.c_str());
    }
    return 0;
  });
}
