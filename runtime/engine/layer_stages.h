// The Mamba-2 block split into stages over an ActivationBlock of tokens. Every path is built from
// these: the chunked wavefront runs them in order per (layer, chunk); the associative scan runs
// each stage over all chunks of a window before the next; decode runs them on a block of one token.
// Each stage parallelises inside itself over tiles whose boundaries depend only on the shapes.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "kernels/ssd.h"
#include "mamba2/config.h"
#include "mamba2/session.h"
#include "mamba2/threading_context.h"
#include "runtime/engine/activation_block.h"
#include "runtime/engine/prepared_weights.h"

namespace mamba2 {

// One layer's slice of a session's recurrent state.
struct LayerState {
  float* conv;  // [d_conv, conv_dim] raw xBC inputs, oldest first
  float* ssm;   // [nheads, headdim, d_state]
};

// Layer `layer`'s slice of `state`.
inline LayerState layer_state(const ModelConfig& config, SessionState& state, int64_t layer) {
  return {state.conv.data() + layer * config.d_conv * config.conv_dim,
          state.ssm.data() + layer * config.nheads * config.headdim * config.d_state};
}

// Where row `row` of a block of single steps keeps its layer-`layer` state.
using RowStates = std::function<LayerState(int64_t row, int64_t layer)>;

class LayerStages {
 public:
  LayerStages(const ModelConfig& config, const PreparedWeights& weights,
              const ThreadingContext& threading);

  static int64_t ssd_head_tile(const ModelConfig& config);

  // Where project_in and final_norm report hidden states; null (the default) for nowhere.
  void set_hidden_observer(const HiddenCallback* observer) { observer_ = observer; }
  // Where embed() reads its rows instead of the embedding table: the caller's embeddings
  // [rows, d_model], the tokens being row indices into them; null (the default) for the table.
  void set_input_rows(const float* rows) { input_rows_ = rows; }

  // hidden = embedding rows of the tokens (or input rows); residual = 0.
  void embed(std::span<const int32_t> tokens, ActivationBlock& block) const;
  // residual += hidden; normed = RMSNorm(residual); zxbcdt = in_proj(normed).
  void project_in(int64_t layer, ActivationBlock& block) const;
  // xbc = SiLU(conv(xBC) + bias), carrying the layer's conv state.
  void convolve(int64_t layer, float* conv_state, ActivationBlock& block) const;
  // dt = clamp(softplus(dt + dt_bias)).
  void discretize(int64_t layer, ActivationBlock& block) const;
  // Chunked SSD with the state passed through: y from ssm_state, then ssm_state advanced.
  void scan_chunk(int64_t layer, float* ssm_state, ActivationBlock& block) const;
  // The pieces of scan_chunk for the associative path.
  void scan_chunk_local_state(int64_t layer, ActivationBlock& block) const;  // state_local, decay
  void scan_chunk_output(int64_t layer, const float* state_in, ActivationBlock& block) const;
  // One recurrent step for every token, each the next token of its own sequence (row r's state
  // is states(r, layer)): embed, every layer (the conv and SSD steps in parallel over rows x
  // channel or head tiles), final norm. The recurrent path steps one row at a time; batched
  // decode steps a row per session. Leaves block.normed ready for logits().
  void step_rows(std::span<const int32_t> tokens, const RowStates& states,
                 ActivationBlock& block) const;
  // y = gated norm of the scan output (and the d_mlp part); hidden = out_proj(y).
  void project_out(int64_t layer, ActivationBlock& block) const;
  // residual += hidden (the last mixer's output); normed = RMSNorm(residual, norm_f).
  void final_norm(ActivationBlock& block) const;
  // logits [row_end - row_begin, vocab_padded] = lm_head(normed rows [row_begin, row_end)).
  void logits(ActivationBlock& block, int64_t row_begin, int64_t row_end, float* logits) const;

  kernels::SsdShape ssd_shape() const { return shape_; }

 private:
  void project(const Projection& projection, const float* x, int64_t ld_x, float* y, int64_t ld_y,
               int64_t tokens, kernels::MatmulInput& input) const;
  // Conv channels [begin, end) of `tokens` consecutive tokens of one sequence (rows of `in`,
  // ld d_in_proj) into `out` (ld conv_dim), carrying conv_state.
  void convolve_channels(int64_t layer, float* conv_state, const float* in, float* out,
                         int64_t tokens, int64_t begin, int64_t end) const;
  void convolve_rows(int64_t layer, const RowStates& states, ActivationBlock& block) const;
  void scan_step_rows(int64_t layer, const RowStates& states, ActivationBlock& block) const;
  kernels::SsdChunk ssd_chunk(int64_t layer, const ActivationBlock& block) const;
  void observe(int64_t layer, const ActivationBlock& block, const AlignedVector<float>& rows) const;

  const ModelConfig& config_;
  const PreparedWeights& weights_;
  const ThreadingContext& threading_;
  kernels::SsdShape shape_;
  int64_t head_tile_;
  const HiddenCallback* observer_ = nullptr;
  const float* input_rows_ = nullptr;
};

}  // namespace mamba2
