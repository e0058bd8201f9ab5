// A model's blocks split into stages over an ActivationBlock of tokens. Every path is built from
// these: the chunked wavefront runs them in order per (layer, chunk); the associative scan runs
// each stage over all chunks of a window before the next; decode runs them on a block of one token.
// What is common to every layer kind lives here (embedding, the prenorm residual, the final norm,
// the logits); the mixer between a block's norm and its residual add is the layer kind's (mixer()).
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "mamba2/config.h"
#include "mamba2/session.h"
#include "mamba2/threading_context.h"
#include "runtime/engine/activation_block.h"
#include "runtime/engine/mixer.h"
#include "runtime/engine/prepared_weights.h"

namespace mamba2 {

class LayerStages {
 public:
  LayerStages(const ModelConfig& config, const PreparedWeights& weights,
              const ThreadingContext& threading);

  const Mixer& mixer() const { return *mixer_; }

  // Where project_in and final_norm report hidden states; null (the default) for nowhere.
  void set_hidden_observer(const HiddenCallback* observer) { observer_ = observer; }
  // Where embed() reads its rows instead of the embedding table: the caller's embeddings
  // [rows, d_model], the tokens being row indices into them; null (the default) for the table.
  void set_input_rows(const float* rows) { input_rows_ = rows; }

  // hidden = embedding rows of the tokens (or input rows); residual = 0.
  void embed(std::span<const int32_t> tokens, ActivationBlock& block) const;
  // residual += hidden; normed = RMSNorm(residual); then the mixer's input projection.
  void project_in(int64_t layer, ActivationBlock& block) const;
  // One recurrent step for every token, each the next token of its own sequence (row r's state
  // is states(r, layer)): embed, every layer (the conv and scan steps in parallel over rows x
  // channel or head tiles), final norm. The recurrent path steps one row at a time; batched
  // decode steps a row per session. Leaves block.normed ready for logits().
  void step_rows(std::span<const int32_t> tokens, const RowStates& states,
                 ActivationBlock& block) const;
  // residual += hidden (the last mixer's output); normed = RMSNorm(residual, norm_f).
  void final_norm(ActivationBlock& block) const;
  // logits [row_end - row_begin, vocab_padded] = lm_head(normed rows [row_begin, row_end)).
  void logits(ActivationBlock& block, int64_t row_begin, int64_t row_end, float* logits) const;

 private:
  void observe(int64_t layer, const ActivationBlock& block, std::span<const float> rows) const;

  const ModelConfig& config_;
  const PreparedWeights& weights_;
  const ThreadingContext& threading_;
  std::unique_ptr<Mixer> mixer_;
  const HiddenCallback* observer_ = nullptr;
  const float* input_rows_ = nullptr;
};

}  // namespace mamba2
