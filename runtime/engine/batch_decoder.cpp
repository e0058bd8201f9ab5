#include "mamba2/batch_decoder.h"

#include <algorithm>
#include <string>
#include <vector>

#include "mamba2/error.h"
#include "mamba2/threading_context.h"
#include "runtime/engine/activation_block.h"
#include "runtime/engine/layer_stages.h"
#include "runtime/io/physical_memory.h"

namespace mamba2 {

struct BatchDecoder::Impl {
  Impl(const Model& model, int64_t max, ThreadingContext threading_context)
      : config(model.config()),
        max_sessions(max),
        threading(std::move(threading_context)),
        stages(config, model.prepared(), threading),
        block(config, stages.mixer(), max, BlockScan::kSteps),
        logits(static_cast<size_t>(max * config.vocab_padded)) {
    block.token_rows = kernels::TokenRows::kSeparateSequences;
    states.reserve(static_cast<size_t>(max));
    sorted.reserve(static_cast<size_t>(max));
  }

  void check(const Model& model, std::span<Session* const> sessions,
             std::span<const int32_t> tokens) {
    if (sessions.size() != tokens.size()) {
      throw Error("BatchDecoder::decode", std::to_string(sessions.size()) + " sessions but " +
                                              std::to_string(tokens.size()) + " tokens");
    }
    if (static_cast<int64_t>(sessions.size()) > max_sessions) {
      throw Error("BatchDecoder::decode", std::to_string(sessions.size()) +
                                              " sessions, more than the " +
                                              std::to_string(max_sessions) + " it was made for");
    }
    for (size_t i = 0; i < sessions.size(); ++i) {
      if (sessions[i] == nullptr || &sessions[i]->model() != &model) {
        throw Error("BatchDecoder::decode",
                    "session " + std::to_string(i) + " is not on the decoder's model");
      }
      if (tokens[i] < 0 || tokens[i] >= config.vocab_padded) {
        throw Error("token id " + std::to_string(tokens[i]),
                    "outside the vocabulary (0.." + std::to_string(config.vocab_padded - 1) + ")");
      }
    }
    // Sorted, a session given twice sits next to itself: n log n, not n^2, for large batches.
    sorted.assign(sessions.begin(), sessions.end());
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
      throw Error("BatchDecoder::decode", "a session appears twice");
    }
  }

  // A recurrent step of every session at once; the rows of the block are the sessions.
  void step(std::span<const int32_t> tokens) {
    // Captures only `this`, so the std::function holds it without allocating.
    const RowStates row_states = [this](int64_t row, int64_t layer) {
      return layer_state(config, *states[static_cast<size_t>(row)], layer);
    };
    block.position = 0;  // rows are different sequences; nothing here reads the position
    stages.step_rows(tokens, row_states, block);
    stages.logits(block, 0, static_cast<int64_t>(tokens.size()), logits.data());
  }

  const ModelConfig& config;
  int64_t max_sessions;
  ThreadingContext threading;
  LayerStages stages;
  ActivationBlock block;              // row s: the token of session s
  std::vector<SessionState*> states;  // per row, the session's state
  std::vector<Session*> sorted;       // check()'s scratch
  std::vector<float> logits;          // [max_sessions, vocab_padded]
};

BatchDecoder::BatchDecoder(std::shared_ptr<const Model> model, int64_t max_sessions,
                           ThreadingContext threading)
    : model_(std::move(model)) {
  if (max_sessions < 1 || max_sessions > 4096) {
    throw Error("BatchDecoder",
                "sessions per step must be 1..4096, not " + std::to_string(max_sessions));
  }
  // Each session stepped here brings its state and gets a logits row: refuse a count whose
  // states and logits alone exceed this machine's memory before allocating any of it.
  const ModelConfig& c = model_->config();
  const uint64_t per_session =
      sizeof(float) *
      static_cast<uint64_t>(conv_state_size(c) + ssm_state_size(c) + c.vocab_padded);
  const uint64_t bytes = per_session * static_cast<uint64_t>(max_sessions);
  if (bytes > physical_memory_bytes()) {
    throw Error("BatchDecoder", std::to_string(max_sessions) +
                                    " sessions are too many: their states and logits need over " +
                                    std::to_string(bytes >> 30) +
                                    " GiB, more than this machine's " +
                                    std::to_string(physical_memory_bytes() >> 30) + " GiB");
  }
  impl_ = std::make_unique<Impl>(*model_, max_sessions, std::move(threading));
}

BatchDecoder::~BatchDecoder() = default;

int64_t BatchDecoder::max_sessions() const { return impl_->max_sessions; }

std::span<const float> BatchDecoder::decode(std::span<Session* const> sessions,
                                            std::span<const int32_t> tokens) {
  impl_->check(*model_, sessions, tokens);
  if (sessions.empty()) return {};
  impl_->states.clear();  // capacity reserved once: no allocation per step
  for (Session* session : sessions) impl_->states.push_back(&session->mutable_state());
  impl_->threading.execute([&] { impl_->step(tokens); });
  for (SessionState* state : impl_->states) ++state->position;
  return {impl_->logits.data(), sessions.size() * static_cast<size_t>(impl_->config.vocab_padded)};
}

}  // namespace mamba2
