// mamba2-train: trains a Mamba-2 language model on text, from scratch (--config, a byte-level model
// with the GPT-2 byte alphabet as its tokenizer) or from an f32 model (--init, keeping its
// tokenizer). Checkpoints are written atomically every few minutes and on Ctrl-C; --resume
// continues bit-exactly from one.
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "common/cli.h"
#include "common/trainer_flags.h"
#include "mamba2/data_windows.h"
#include "mamba2/error.h"
#include "mamba2/gguf.h"
#include "mamba2/model_loader.h"
#include "mamba2/perplexity.h"
#include "mamba2/session.h"
#include "mamba2/tokenizer.h"
#include "mamba2/training.h"

namespace {

using namespace mamba2;
using Clock = std::chrono::steady_clock;

volatile std::sig_atomic_t g_interrupted = 0;

extern "C" void on_sigint(int) { g_interrupted = 1; }

struct Options {
  std::vector<std::string> data;
  std::string val, config, init, out;
  int64_t seq_len = 256, val_bytes = 32768;
  apps::TrainerFlags train;
};

std::string read_text(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error))
    throw Error(path, "no such file or directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path, "cannot open");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// What the run starts from: the trainer with its first parameters, and the tokenizer to write out.
struct Start {
  std::unique_ptr<LanguageModelTrainer> trainer;
  TokenizerData tokenizer;
  bool byte_level = true;  // tokens are the text's bytes
};

Start make_start(const Options& o, TrainerOptions options) {
  Start start;
  if (!o.config.empty()) {
    const ModelConfig config = load_model_config(o.config);
    if (config.vocab_size != 256 || config.vocab_padded != 256) {
      throw Error(o.config, "a model trained from scratch is byte-level: vocab_size must be 256");
    }
    start.trainer =
        std::make_unique<LanguageModelTrainer>(config, o.train.seed, std::move(options), o.config);
    start.tokenizer = byte_level_tokenizer();
    return start;
  }
  ModelWeights weights = load_model_weights(o.init);
  if (!weights.tokenizer) throw Error(o.init, "the model has no tokenizer to read text with");
  start.trainer = std::make_unique<LanguageModelTrainer>(weights, std::move(options), o.init);
  start.tokenizer = *weights.tokenizer;
  start.byte_level = false;
  return start;
}

std::vector<int32_t> tokenize(const std::string& text, const Start& start) {
  if (start.byte_level) {
    std::vector<int32_t> bytes(text.size());
    for (size_t i = 0; i < text.size(); ++i) bytes[i] = static_cast<unsigned char>(text[i]);
    return bytes;
  }
  return Tokenizer(start.tokenizer, "tokenizer").encode(text);
}

// Bits per byte of the validation slice under the current parameters, through the inference
// engine (what mamba2-eval --perplexity would report on the written model).
double validation_bpb(const LanguageModelTrainer& trainer, const std::vector<int32_t>& val_tokens,
                      int64_t val_bytes, const ThreadingContext& threading) {
  auto model = std::make_shared<const Model>(trainer.weights("validation", std::nullopt),
                                             Model::PrepareProgress(), threading);
  Session session(model, SessionOptions{.threading = threading});
  return measure_perplexity(session, val_tokens, val_bytes).bits_per_byte;
}

// A loss or bits-per-byte figure; "-" before there is one (no step run, no validation yet).
std::string figure(double value) {
  if (std::isnan(value)) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.4f", value);
  return text;
}

std::string format_duration(double seconds) {
  const auto s = static_cast<int64_t>(std::max(0.0, seconds));
  char text[32];
  std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return text;
}

void check_options(const Options& o) {
  auto positive = [](int64_t value, const char* flag) {
    if (value < 1) throw Error(flag, "must be at least 1");
  };
  apps::check_trainer_flags(o.train);
  positive(o.seq_len, "--seq-len");
  positive(o.val_bytes, "--val-bytes");
  if (o.config.empty() == o.init.empty()) throw Error("give --config or --init");
  // Both are written after the training: refuse an unwritable place before it starts.
  apps::check_output_path(o.out, "--out");
  apps::check_output_path(apps::checkpoint_path(o.train, o.out), "--checkpoint");
}

// Ctrl-C from here on is a request to save and stop, checked once per step.
void install_interrupt_handler() {
  struct sigaction action {};
  action.sa_handler = on_sigint;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
}

int run(const Options& o) {
  check_options(o);
  install_interrupt_handler();
  TrainerOptions options;
  options.optimizer = apps::adamw_settings(o.train);
  options.batch = o.train.batch;
  options.seq_len = o.seq_len;
  options.threading = ThreadingContext(o.train.threads);
  const ThreadingContext threading = options.threading;
  const Start start = make_start(o, std::move(options));
  LanguageModelTrainer& trainer = *start.trainer;
  std::string text;
  for (const std::string& path : o.data) text += read_text(path);
  const DataWindows data(tokenize(text, start), o.seq_len, o.train.seed);

  std::vector<int32_t> val_tokens;
  int64_t val_predicted_bytes = 0;
  if (!o.val.empty()) {
    std::string val = read_text(o.val);
    val.resize(std::min<size_t>(val.size(), static_cast<size_t>(o.val_bytes)));
    val_tokens = tokenize(val, start);
    if (val_tokens.size() < 2) throw Error(o.val, "needs at least two tokens of text");
    val_predicted_bytes = static_cast<int64_t>(
        Tokenizer(start.tokenizer, "tokenizer").decode(std::span(val_tokens).subspan(1)).size());
  }

  const std::string checkpoint = apps::checkpoint_path(o.train, o.out);
  if (!o.train.resume.empty()) trainer.resume(o.train.resume, o.train.seed);
  auto save_checkpoint = [&] { trainer.save_checkpoint(checkpoint, o.train.seed); };

  const int64_t first_step = trainer.steps_done();
  const auto started = Clock::now();
  auto last_checkpoint = started;
  double loss = NAN, val_bpb = NAN;
  bool interrupted = false;
  // Steps until done, stopped or failed; an error ends the progress line before it is reported.
  try {
    for (int64_t step = first_step; step < o.train.steps; ++step) {
      if (g_interrupted || (o.train.stop_at > 0 && step >= o.train.stop_at)) {
        interrupted = true;
        break;
      }
      loss = trainer.step(data.batch(step, o.train.batch)).loss;
      if (!std::isfinite(loss)) {
        const bool saved = std::filesystem::exists(checkpoint);
        throw Error("step " + std::to_string(step + 1),
                    "the loss is not finite (training diverged; try a lower --lr)" +
                        (saved ? "; the last checkpoint is " + checkpoint : std::string()));
      }
      const bool last = step + 1 == o.train.steps;
      if (!val_tokens.empty() && ((step + 1) % o.train.eval_every == 0 || last)) {
        val_bpb = validation_bpb(trainer, val_tokens, val_predicted_bytes, threading);
      }
      const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
      const double done = double(step + 1 - first_step);
      std::fprintf(stderr, "\rstep %lld/%lld  loss %.4f  val %s bpb  %.0f tok/s  %s left   ",
                   static_cast<long long>(step + 1), static_cast<long long>(o.train.steps), loss,
                   figure(val_bpb).c_str(), done * double(o.train.batch * o.seq_len) / elapsed,
                   format_duration(elapsed / done * double(o.train.steps - step - 1)).c_str());
      if (Clock::now() - last_checkpoint >=
          std::chrono::duration<double>(o.train.checkpoint_minutes * 60.0)) {
        save_checkpoint();
        last_checkpoint = Clock::now();
      }
    }
  } catch (...) {
    std::fprintf(stderr, "\n");
    throw;
  }
  std::fprintf(stderr, "\n");
  save_checkpoint();
  const std::string name = std::filesystem::path(o.out).stem().string();
  write_gguf_model(trainer.weights(name, start.tokenizer), o.out);
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  const int64_t steps_done = trainer.steps_done();
  std::printf(
      "%s at step %lld: loss %s, val %s bits/byte, %lld tokens seen, %s this run; "
      "wrote %s and %s\n",
      interrupted ? "stopped" : "finished", static_cast<long long>(steps_done),
      figure(loss).c_str(), figure(val_bpb).c_str(),
      static_cast<long long>(steps_done * o.train.batch * o.seq_len),
      format_duration(seconds).c_str(), o.out.c_str(), checkpoint.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Train a Mamba-2 language model on text"};
  app.name("mamba2-train");
  Options o;
  app.add_option("--data", o.data, "training text file (repeatable)")->required();
  app.add_option("--val", o.val, "validation text; bits per byte on its first --val-bytes");
  auto* config = app.add_option("--config", o.config,
                                "model config.json (state-spaces format, vocab_size 256): "
                                "train a byte-level model from scratch");
  auto* init = app.add_option("--init", o.init, "f32 model to fine-tune (keeps its tokenizer)");
  config->excludes(init);
  app.add_option("--out", o.out, "output GGUF")->required();
  app.add_option("--seq-len", o.seq_len, "tokens per training sequence")->capture_default_str();
  apps::add_trainer_flags(
      app, o.train, {.batch = "sequences per step", .seed = "initialisation and data-order seed"});
  app.add_option("--val-bytes", o.val_bytes, "bytes of --val to evaluate")->capture_default_str();
  return mamba2::apps::run_app(app, argc, argv, [&] { return run(o); });
}
