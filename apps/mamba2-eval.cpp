// mamba2-eval: runs token ids through a model and writes what the reference fixtures hold:
// logits at every position, the final states, a greedy continuation; or measures perplexity, and
// with --kl-divergence-base how far the model's predictions are from a base model's.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/cli.h"
#include "common/load_progress.h"
#include "mamba2/error.h"
#include "mamba2/kl_divergence.h"
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

// The model's tokenizer, for --perplexity's text.
Tokenizer text_tokenizer(const Model& model) {
  if (!model.weights().tokenizer) {
    throw Error(model.weights().name,
                "the model has no tokenizer, so --perplexity cannot read text (use --ids)");
  }
  return Tokenizer(*model.weights().tokenizer, model.weights().name);
}

std::vector<int32_t> text_tokens(const Tokenizer& tokenizer, const std::string& path) {
  std::vector<int32_t> tokens = tokenizer.encode(read_file(path));
  if (tokens.size() < 2) throw Error(path, "needs at least two tokens of text");
  return tokens;
}

void report_perplexity(const Model& model, Session& session, const std::string& path) {
  const Tokenizer tokenizer = text_tokenizer(model);
  const std::vector<int32_t> tokens = text_tokens(tokenizer, path);
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

// llama-perplexity --kl-divergence's summary of the model against the base on the same tokens.
void report_kl_divergence(Session& session, const std::string& base_path,
                          std::span<const int32_t> tokens, const SessionOptions& options) {
  apps::LoadProgress progress("mamba2-eval");
  Session base(load_model(base_path, progress.callback(), options.threading), options);
  const KlDivergenceResult r = measure_kl_divergence(session, base, tokens, [&](int64_t done) {
    std::fprintf(stderr, "\rkl-divergence: %lld/%zu tokens", static_cast<long long>(done),
                 tokens.size());
  });
  std::fprintf(stderr, "\n");
  std::printf("positions: %lld\n", static_cast<long long>(r.positions));
  std::printf("perplexity: %.4f base: %.4f ln(ratio): %.6f\n", r.perplexity, r.base_perplexity,
              std::log(r.perplexity / r.base_perplexity));
  std::printf("kl_divergence: mean %.6f +/- %.6f max %.6f\n", r.mean_kl, r.kl_standard_error,
              r.max_kl);
  std::printf("top1_agreement: %.4f%%\n", 100.0 * r.top1_agreement);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Runs token ids through a Mamba-2 or Mamba-1 model: logits, states, greedy tokens, "
      "perplexity",
      "mamba2-eval"};
  std::string model_path, ids_text, logits_out, states_out, perplexity_file, kl_base, scan = "auto";
  int generate = 0;
  int threads = 0;
  int64_t chunk = 0;
  app.add_option("MODEL", model_path, "GGUF file or model directory")->required();
  auto* ids_option = app.add_option("--ids", ids_text, "prompt token ids, e.g. 1,2,3");
  auto* logits_option =
      app.add_option("--logits-out", logits_out, "write float32 logits [T, vocab_padded] as .npy")
          ->needs(ids_option);
  auto* states_option =
      app.add_option("--states-out", states_out,
                     "write ssm_state.npy and conv_state.npy (the fixtures' layout) into DIR")
          ->needs(ids_option);
  auto* generate_option =
      app.add_option("--generate", generate, "print N greedy token ids after the prompt")
          ->check(CLI::Range(0, 1 << 20))
          ->needs(ids_option);
  auto* perplexity_option =
      app.add_option("--perplexity", perplexity_file,
                     "text file: perplexity and bits per byte (needs a tokenizer)");
  ids_option->excludes(perplexity_option);
  app.add_option("--kl-divergence-base", kl_base,
                 "base model (e.g. the f32 GGUF): perplexities, mean/max KL divergence and top-1 "
                 "agreement of MODEL against it on --perplexity's text or --ids")
      ->excludes(logits_option)
      ->excludes(states_option)
      ->excludes(generate_option);
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

    if (!kl_base.empty()) {
      const std::vector<int32_t> tokens =
          perplexity_file.empty() ? apps::parse_ids(ids_text, "--ids")
                                  : text_tokens(text_tokenizer(*model), perplexity_file);
      if (tokens.size() < 2) throw Error("--ids", "needs at least two tokens");
      report_kl_divergence(session, kl_base, tokens, options);
      return 0;
    }
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
