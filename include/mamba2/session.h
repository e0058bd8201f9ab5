// A Session runs tokens through a Model and owns the recurrent state of one sequence: a conv state
// and an SSM state per layer, whose size does not grow with the sequence. Prefill takes any
// number of tokens in constant working memory; decode takes one token in constant time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "mamba2/model.h"
#include "mamba2/threading_context.h"

namespace mamba2 {

// How prefill computes the scan. All three give the same results up to float rounding.
enum class ScanMode {
  kAuto,         // chunked or associative, whichever a measurement on this model found faster
                 // (runtime/engine/scan_choice.h): for prompts of 9 chunks and more, once per
                 // thread count and prompt size class; shorter prompts run chunked
  kChunked,      // chunked SSD; a layer x chunk wavefront passes the state chunk to chunk
  kAssociative,  // chunk states combined by a parallel prefix over chunks, layer by layer
  kRecurrent,    // token by token, the plain recurrence (the reference)
};

std::string_view scan_mode_name(ScanMode mode);
// The mode scan_mode_name gives `name` ("auto", "chunked", "associative", "recurrent"), if any.
std::optional<ScanMode> scan_mode_named(std::string_view name);
// scan_mode_named for a flag's value: throws Error naming --scan for anything else.
ScanMode parse_scan_mode(std::string_view name);

struct SessionOptions {
  ThreadingContext threading;  // default: every core the process may use
  ScanMode scan = ScanMode::kAuto;
  int64_t chunk_size = 0;     // tokens per SSD chunk; 0: the model's chunk_size
  int64_t window_chunks = 0;  // chunks in flight during prefill; 0: chosen from the scan mode
};

// The recurrent state of a sequence; copy it to snapshot, assign it back to restore.
struct SessionState {
  // Per layer [d_conv, conv_dim]: the last d_conv raw xBC inputs, oldest row first.
  std::vector<float> conv;
  // Per layer [nheads, headdim, d_state].
  std::vector<float> ssm;
  // Tokens consumed so far. At 0 the sequence starts from zero SSM states: prefill does not read
  // ssm then (a state restored mid-sequence keeps its position).
  int64_t position = 0;

  bool operator==(const SessionState&) const = default;
};

// The sizes of a Session's state for this config (floats): SessionState::conv and ::ssm.
int64_t conv_state_size(const ModelConfig& config);
int64_t ssm_state_size(const ModelConfig& config);

// Receives the logits row of each prompt position, in order, from a worker thread.
using LogitsCallback = std::function<void(int64_t position, std::span<const float> logits)>;
// Receives hidden states [d_model] as Hugging Face's output_hidden_states lists them: for
// layer < n_layer the residual stream entering that layer, for layer == n_layer the final norm's
// output. Calls for one layer come in position order; different layers may call concurrently.
using HiddenCallback =
    std::function<void(int64_t layer, int64_t position, std::span<const float> hidden)>;

class Session {
 public:
  explicit Session(std::shared_ptr<const Model> model, SessionOptions options = {});
  ~Session();
  // A copy continues independently from the same state.
  Session(const Session& other);
  Session& operator=(const Session&) = delete;

  // Runs the tokens and returns the logits of the last one ([vocab_padded]; empty for no tokens).
  // With on_logits, every position's logits are computed and handed over as well; with
  // on_hidden, every layer's hidden state at every position.
  std::span<const float> prefill(std::span<const int32_t> tokens,
                                 const LogitsCallback& on_logits = {},
                                 const HiddenCallback& on_hidden = {});
  // Runs embeddings [T, d_model] in place of token embeddings, for a model whose input is not
  // tokens (a forecaster's input projection); the hidden states go to on_hidden, the final norm's
  // at layer n_layer. The state carries on as after prefill.
  void prefill_embeddings(std::span<const float> embeddings, const HiddenCallback& on_hidden);
  // Runs one token and returns its logits [vocab_padded].
  std::span<const float> decode(int32_t token);

  const SessionState& state() const;
  // Replaces the state (a snapshot of a session on the same model). Throws Error on a size
  // mismatch.
  void set_state(const SessionState& state);
  void reset();  // back to the zero state

  const Model& model() const { return *model_; }
  const SessionOptions& options() const { return options_; }
  // The scan the last prefill ran its last tokens with (kAuto resolved; kRecurrent for decode).
  ScanMode last_scan() const;

 private:
  friend class BatchDecoder;  // steps the states of several sessions together
  SessionState& mutable_state();
  ScanMode prefill_mode(size_t tokens) const;  // kAuto (measured in run) or recurrent for 1 token

  struct Impl;
  std::shared_ptr<const Model> model_;
  SessionOptions options_;
  std::unique_ptr<Impl> impl_;
};

// The state in the reference fixtures' layouts, for files and comparisons:
// conv [n_layer, conv_dim, d_conv] (column d_conv-1 the newest) and ssm [n_layer, nheads, headdim,
// d_state].
std::vector<float> conv_state_channels_first(const ModelConfig& config, const SessionState& state);

}  // namespace mamba2
