// The three ways prefill runs a window of chunks through all layers. A window is at most
// `window` chunks of at most `chunk` tokens; the session feeds a long prompt window by window, so
// working memory depends on chunk x window, not on the prompt length.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "mamba2/session.h"
#include "runtime/engine/layer_stages.h"
#include "runtime/engine/logits_sink.h"
#include "runtime/threading/wavefront.h"

namespace mamba2 {

struct PrefillContext {
  const ModelConfig& config;
  const LayerStages& stages;
  const ThreadingContext& threading;
  SessionState& state;

  LayerState layer_state(int64_t layer) const { return mamba2::layer_state(config, state, layer); }
};

// One way to run prefill. The session hands it a prompt window_tokens() at a time; all three give
// the same results up to float rounding.
class PrefillStrategy {
 public:
  virtual ~PrefillStrategy() = default;
  // The most tokens one run() takes.
  virtual int64_t window_tokens() const = 0;
  // Runs `tokens`, starting at sequence position `position`, through every layer.
  virtual void run(std::span<const int32_t> tokens, int64_t position, LogitsSink& sink) = 0;
};

// The strategy of `mode` (not kAuto) over windows of `window` chunks of `chunk` tokens; the
// recurrent one steps `step_block`, the block decode uses.
std::unique_ptr<PrefillStrategy> make_prefill_strategy(ScanMode mode, const PrefillContext& context,
                                                       int64_t chunk, int64_t window,
                                                       ActivationBlock& step_block);

// Splits `tokens` (starting at sequence position `position`) into the window's blocks, growing
// a block that has not held that many tokens before (ActivationBlock::reserve): what the chunked
// and associative strategies share. Their blocks start empty, so a short prompt allocates and
// touches only the rows it uses, once per session.
void load_window(const PrefillContext& context, std::span<const int32_t> tokens, int64_t position,
                 int64_t chunk, std::vector<ActivationBlock>& blocks,
                 std::vector<std::span<const int32_t>>& block_tokens);

// Chunked SSD as a layer x chunk wavefront: (layer l, chunk c) runs once (l-1, c) and (l, c-1)
// are done, so layer l+1 starts a chunk while layer l works on the next. Row n_layer is the final
// norm and the logits.
class ChunkedPrefill final : public PrefillStrategy {
 public:
  ChunkedPrefill(const PrefillContext& context, int64_t chunk, int64_t window);
  int64_t window_tokens() const override;
  void run(std::span<const int32_t> tokens, int64_t position, LogitsSink& sink) override;

 private:
  void run_node(int64_t layer, int64_t chunk_index);

  PrefillContext context_;
  int64_t chunk_;
  std::vector<ActivationBlock> blocks_;
  std::vector<std::span<const int32_t>> block_tokens_;
  LogitsSink* sink_ = nullptr;
  Wavefront wavefront_;
};

// Chunk states combined by a parallel prefix: per layer, every chunk of the window computes its
// local state in parallel; an inclusive scan with (a1, b1) o (a2, b2) = (a1 a2, a2 b1 + b2) gives
// each chunk its entering state in log2(window) parallel steps; then all outputs in parallel.
class AssociativePrefill final : public PrefillStrategy {
 public:
  AssociativePrefill(const PrefillContext& context, int64_t chunk, int64_t window);
  int64_t window_tokens() const override;
  void run(std::span<const int32_t> tokens, int64_t position, LogitsSink& sink) override;

 private:
  void scan_states(int64_t layer, int64_t chunks);

  PrefillContext context_;
  int64_t chunk_;
  std::vector<ActivationBlock> blocks_;
  std::vector<std::span<const int32_t>> block_tokens_;
  ScanUnits units_;
  AlignedVector<float> decay_[2];  // [window, units x decay_span] prefix products, double-buffered
  AlignedVector<float> state_[2];  // [window, units x state_span] prefix states
};

// Token by token through the recurrence (the decode step): the reference path.
class RecurrentPrefill final : public PrefillStrategy {
 public:
  RecurrentPrefill(const PrefillContext& context, ActivationBlock& block)
      : context_(context), block_(block) {}
  int64_t window_tokens() const override;
  void run(std::span<const int32_t> tokens, int64_t position, LogitsSink& sink) override;

 private:
  PrefillContext context_;
  ActivationBlock& block_;
};

}  // namespace mamba2
