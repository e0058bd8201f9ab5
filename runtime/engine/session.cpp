#include "mamba2/session.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <limits>
#include <memory>
#include <numeric>

#include "mamba2/error.h"
#include "runtime/engine/prefill.h"
#include "runtime/engine/scan_choice.h"

namespace mamba2 {
namespace {

constexpr int64_t kChunkedWindow = 4;
constexpr int64_t kAssociativeWindow = 8;

}  // namespace

int64_t conv_state_size(const ModelConfig& c) { return c.n_layer * c.d_conv * c.conv_dim; }
int64_t ssm_state_size(const ModelConfig& c) {
  return c.n_layer * c.nheads * c.headdim * c.d_state;
}

std::string_view scan_mode_name(ScanMode mode) {
  switch (mode) {
    case ScanMode::kChunked:
      return "chunked";
    case ScanMode::kAssociative:
      return "associative";
    case ScanMode::kRecurrent:
      return "recurrent";
    case ScanMode::kAuto:
      break;
  }
  return "auto";
}

std::optional<ScanMode> scan_mode_named(std::string_view name) {
  for (ScanMode mode :
       {ScanMode::kAuto, ScanMode::kChunked, ScanMode::kAssociative, ScanMode::kRecurrent}) {
    if (scan_mode_name(mode) == name) return mode;
  }
  return std::nullopt;
}

ScanMode parse_scan_mode(std::string_view name) {
  if (const std::optional<ScanMode> mode = scan_mode_named(name)) return *mode;
  throw Error("--scan", "unknown scan '" + std::string(name) +
                            "' (expected auto, chunked, associative or recurrent)");
}

struct Session::Impl {
  Impl(const Model& model, const SessionOptions& options)
      : config(model.config()),
        choices(model.scan_choices()),
        threading(options.threading),
        stages(config, model.prepared(), threading),
        chunk(options.chunk_size > 0 ? options.chunk_size : config.chunk_size),
        step_block(config, stages.mixer(), 1, BlockScan::kSteps),
        logits(static_cast<size_t>(config.vocab_padded)) {
    if (chunk < 1 || chunk > (1 << 16)) throw Error("chunk size", "must be 1..65536");
    state.conv.assign(static_cast<size_t>(conv_state_size(config)), 0.0f);
    state.ssm.assign(static_cast<size_t>(ssm_state_size(config)), 0.0f);
  }

  PrefillContext context() { return PrefillContext{config, stages, threading, state}; }

  void check_tokens(std::span<const int32_t> tokens) const {
    for (int32_t token : tokens) {
      if (token < 0 || token >= config.vocab_padded) {
        throw Error("token id " + std::to_string(token),
                    "outside the vocabulary (0.." + std::to_string(config.vocab_padded - 1) + ")");
      }
    }
  }

  // Runs tokens through every layer with the given scan; returns the last token's logits. With
  // input_rows, the tokens are row indices into it (LayerStages::set_input_rows).
  std::span<const float> run(std::span<const int32_t> tokens, const LogitsCallback& on_logits,
                             const HiddenCallback& on_hidden, ScanMode mode, int64_t window_option,
                             const float* input_rows = nullptr) {
    if (tokens.empty()) return {};
    stages.set_hidden_observer(&on_hidden);
    stages.set_input_rows(input_rows);
    struct StagesReset {  // the stages outlive this run: leave them as they were made
      LayerStages& stages;
      ~StagesReset() {
        stages.set_hidden_observer(nullptr);
        stages.set_input_rows(nullptr);
      }
    } stages_reset{stages};
    const int64_t start = state.position;
    const int64_t last_position = start + static_cast<int64_t>(tokens.size()) - 1;
    LogitsSink sink(&on_logits, last_position, logits, logits_scratch);
    threading.execute([&] {
      if (mode == ScanMode::kAuto) mode = choose_scan(tokens, window_option, on_hidden);
      run_piece(strategy(mode, window_option), tokens, start, sink);
    });
    state.position = last_position + 1;
    last_scan = mode;
    return logits;
  }

  // Runs `tokens` window by window through `prefill`; returns the seconds it took.
  static double run_piece(PrefillStrategy& prefill, std::span<const int32_t> tokens,
                          int64_t position, LogitsSink& sink) {
    const auto begin_time = std::chrono::steady_clock::now();
    const auto window_tokens = static_cast<size_t>(prefill.window_tokens());
    for (size_t begin = 0; begin < tokens.size(); begin += window_tokens) {
      const auto part = tokens.subspan(begin, std::min(window_tokens, tokens.size() - begin));
      prefill.run(part, position + static_cast<int64_t>(begin), sink);
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - begin_time).count();
  }

  // ScanMode::kAuto for a prompt of `tokens`: the choice for its size class that this process or
  // an earlier one on this machine made, or a measurement on the prompt's first pieces, whose
  // results are then thrown away (scan_choice.h). `on_hidden` hears nothing of them.
  ScanMode choose_scan(std::span<const int32_t> tokens, int64_t window_option,
                       const HiddenCallback& on_hidden) {
    const int64_t max_piece = window_option > 0 ? window_option : kAssociativeWindow;
    const int64_t piece_chunks =
        calibration_piece_chunks(static_cast<int64_t>(tokens.size()) / chunk, max_piece);
    if (piece_chunks == 0) return ScanMode::kChunked;
    const ScanChoiceKey key{threading.threads(), chunk, window_option, piece_chunks};
    if (const std::optional<ScanMode> known = choices.find(key)) return *known;
    const SessionState before = state;
    stages.set_hidden_observer(nullptr);
    LogitsSink discard(nullptr, -1, logits, logits_scratch);
    size_t done = 0;
    // Runs the next `count` tokens with `scan`; returns the seconds they took.
    auto piece = [&](ScanMode scan, size_t count) {
      const double seconds = run_piece(strategy(scan, window_option), tokens.subspan(done, count),
                                       before.position + static_cast<int64_t>(done), discard);
      done += count;
      return seconds;
    };
    const auto size = static_cast<size_t>(chunk);
    piece(ScanMode::kChunked, size);  // warm-up, untimed
    // Both strategies exist before the clock starts: their buffers are allocated and touched.
    strategy(ScanMode::kAssociative, window_option);
    const auto measured = static_cast<size_t>(piece_chunks) * size;
    double chunked = piece(ScanMode::kChunked, measured);
    double associative = piece(ScanMode::kAssociative, measured);
    associative += piece(ScanMode::kAssociative, measured);
    chunked += piece(ScanMode::kChunked, measured);
    state = before;
    stages.set_hidden_observer(&on_hidden);
    return choices.record(key, faster_scan(chunked, associative));
  }

  // The strategy of `mode`, made on first use with the window it asks for then.
  PrefillStrategy& strategy(ScanMode mode, int64_t window_option) {
    std::unique_ptr<PrefillStrategy>& made = strategies[static_cast<size_t>(mode)];
    if (!made) {
      const int64_t window = window_option > 0                ? window_option
                             : mode == ScanMode::kAssociative ? kAssociativeWindow
                                                              : kChunkedWindow;
      made = make_prefill_strategy(mode, context(), chunk, window, step_block);
    }
    return *made;
  }

  const ModelConfig& config;
  ScanChoices& choices;
  ThreadingContext threading;
  LayerStages stages;
  int64_t chunk;
  SessionState state;
  ScanMode last_scan = ScanMode::kRecurrent;
  ActivationBlock step_block;
  std::array<std::unique_ptr<PrefillStrategy>, 4> strategies;  // by ScanMode, made on first use
  std::vector<float> logits;                                   // [vocab_padded] of the last token
  std::vector<float> logits_scratch;  // [kRowsPerPass, vocab_padded] once every position is wanted
};

Session::Session(std::shared_ptr<const Model> model, SessionOptions options)
    : model_(std::move(model)),
      options_(options),
      impl_(std::make_unique<Impl>(*model_, options)) {}

Session::~Session() = default;

Session::Session(const Session& other)
    : model_(other.model_),
      options_(other.options_),
      impl_(std::make_unique<Impl>(*model_, options_)) {
  impl_->state = other.impl_->state;
  impl_->logits = other.impl_->logits;
}

ScanMode Session::prefill_mode(size_t tokens) const {
  // kAuto stays for run() to resolve, but one token is the decode step whatever the scan.
  return options_.scan == ScanMode::kAuto && tokens <= 1 ? ScanMode::kRecurrent : options_.scan;
}

std::span<const float> Session::prefill(std::span<const int32_t> tokens,
                                        const LogitsCallback& on_logits,
                                        const HiddenCallback& on_hidden) {
  impl_->check_tokens(tokens);
  return impl_->run(tokens, on_logits, on_hidden, prefill_mode(tokens.size()),
                    options_.window_chunks);
}

void Session::prefill_embeddings(std::span<const float> embeddings,
                                 const HiddenCallback& on_hidden) {
  const int64_t d_model = model_->config().d_model;
  const auto rows = static_cast<int64_t>(embeddings.size()) / d_model;
  if (rows * d_model != static_cast<int64_t>(embeddings.size()) ||
      rows > std::numeric_limits<int32_t>::max()) {
    throw Error("embeddings", "expected whole rows of d_model = " + std::to_string(d_model) +
                                  " floats, at most 2^31 - 1 of them");
  }
  // The strategies move token ids through the windows; here they are row indices.
  std::vector<int32_t> indices(static_cast<size_t>(rows));
  std::iota(indices.begin(), indices.end(), 0);
  impl_->run(indices, {}, on_hidden, prefill_mode(indices.size()), options_.window_chunks,
             embeddings.data());
}

std::span<const float> Session::decode(int32_t token) {
  const int32_t tokens[1] = {token};
  impl_->check_tokens(tokens);
  return impl_->run(tokens, {}, {}, ScanMode::kRecurrent, 0);
}

const SessionState& Session::state() const { return impl_->state; }

ScanMode Session::last_scan() const { return impl_->last_scan; }

SessionState& Session::mutable_state() { return impl_->state; }

void Session::set_state(const SessionState& state) {
  const ModelConfig& c = model_->config();
  if (static_cast<int64_t>(state.conv.size()) != conv_state_size(c) ||
      static_cast<int64_t>(state.ssm.size()) != ssm_state_size(c) || state.position < 0) {
    throw Error("session state", "does not match this model's state size");
  }
  // Prefill takes position 0 for a sequence's start and does not read the SSM states there.
  if (state.position == 0 &&
      std::any_of(state.ssm.begin(), state.ssm.end(), [](float v) { return v != 0.0f; })) {
    throw Error("session state", "has SSM states at position 0, where a sequence starts from zero");
  }
  impl_->state = state;
}

void Session::reset() {
  std::fill(impl_->state.conv.begin(), impl_->state.conv.end(), 0.0f);
  std::fill(impl_->state.ssm.begin(), impl_->state.ssm.end(), 0.0f);
  impl_->state.position = 0;
}

std::vector<float> conv_state_channels_first(const ModelConfig& c, const SessionState& state) {
  std::vector<float> out(state.conv.size());
  for (int64_t layer = 0; layer < c.n_layer; ++layer) {
    const float* source = state.conv.data() + layer * c.d_conv * c.conv_dim;
    float* target = out.data() + layer * c.conv_dim * c.d_conv;
    for (int64_t k = 0; k < c.d_conv; ++k) {
      for (int64_t channel = 0; channel < c.conv_dim; ++channel) {
        target[channel * c.d_conv + k] = source[k * c.conv_dim + channel];
      }
    }
  }
  return out;
}

}  // namespace mamba2
