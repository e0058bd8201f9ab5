// A layer kind: the mixer between a block's RMSNorm and its residual add. It supplies the state a
// layer carries between tokens (a slice of SessionState's conv and ssm vectors, sized by the
// config) and the stages every path is built from: the chunked wavefront, the associative scan,
// the recurrent reference, decode and batched decode call only these, so sessions, snapshots and
// batching work on any layer kind without knowing which. Mamba-2 (mamba2_mixer.cpp) and Mamba-1
// (mamba1_mixer.cpp) are the kinds so far; a kind is a Mixer subclass and a make_ function. Each
// stage parallelises inside itself over tiles whose boundaries depend only on the shapes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "mamba2/config.h"
#include "mamba2/session.h"
#include "mamba2/threading_context.h"
#include "runtime/engine/prepared_weights.h"

namespace mamba2 {

struct ActivationBlock;

// One layer's slice of a session's recurrent state.
struct LayerState {
  float* conv;  // [d_conv, conv_dim] raw conv inputs, oldest first
  float* ssm;   // [nheads, headdim, d_state]; Mamba-1: [d_inner, d_state]
};

// Layer `layer`'s slice of `state`.
inline LayerState layer_state(const ModelConfig& config, SessionState& state, int64_t layer) {
  return {state.conv.data() + layer * config.d_conv * config.conv_dim,
          state.ssm.data() + layer * config.nheads * config.headdim * config.d_state};
}

// Where row `row` of a block of single steps keeps its layer-`layer` state.
using RowStates = std::function<LayerState(int64_t row, int64_t layer)>;

// Which scan an ActivationBlock serves, so that it holds only that scan's scratch: decode and
// the recurrent path none, the chunked path one workspace per tile, the associative path its
// workspaces plus the chunk's local and entering states and total decay (two states of 0.75 MiB
// per block for the 130m shape, which no other path reads).
enum class BlockScan { kSteps, kChunked, kAssociative };

// The scratch a mixer's scan needs in an ActivationBlock of `capacity` tokens.
struct MixerBufferSizes {
  int64_t workspace_stride = 0;  // floats of one tile's scan workspace
  int64_t workspace_tiles = 0;   // tiles that run at once
  int64_t decay = 0;             // floats of a chunk's total decay (state_local's multiplier)
};

// The associative operator's units: the state is `count` units of `state_span` floats, each
// scaled by `decay_span` decay floats (one decay per head for Mamba-2, one per state entry for
// Mamba-1); units are handed out `tile` at a time.
struct ScanUnits {
  int64_t count;
  int64_t tile;
  int64_t decay_span;
  int64_t state_span;
};

class Mixer {
 public:
  virtual ~Mixer() = default;

  // Zero for what `scan` does not use.
  virtual MixerBufferSizes buffer_sizes(int64_t capacity, BlockScan scan) const = 0;
  virtual ScanUnits scan_units() const = 0;

  // block.zxbcdt = in_proj(block.normed).
  virtual void project_in(int64_t layer, ActivationBlock& block) const = 0;
  // The causal conv over consecutive tokens of one sequence, carrying the layer's conv state.
  virtual void convolve(int64_t layer, float* conv_state, ActivationBlock& block) const = 0;
  // The scan of a chunk with the SSM state passed through: y from ssm_state, then ssm_state
  // advanced past the chunk.
  virtual void scan_chunk(int64_t layer, float* ssm_state, ActivationBlock& block) const = 0;
  // The associative path's pieces: the chunk's state from zero (block.state_local) and its total
  // decay (block.decay); then y given the state entering the chunk.
  virtual void scan_chunk_local_state(int64_t layer, ActivationBlock& block) const = 0;
  virtual void scan_chunk_output(int64_t layer, const float* state_in,
                                 ActivationBlock& block) const = 0;
  // state_out = decay o state_in + state_local over units [begin, end): the associative
  // operator's action. state_out may alias state_in or state_local.
  virtual void pass_state(const float* decay, const float* state_in, const float* state_local,
                          float* state_out, int64_t begin, int64_t end) const = 0;
  // The conv and scan of one recurrent step for every row, each the next token of its own
  // sequence (row r's state is states(r, layer)).
  virtual void step_rows(int64_t layer, const RowStates& states, ActivationBlock& block) const = 0;
  // hidden = out_proj(the gated scan output).
  virtual void project_out(int64_t layer, ActivationBlock& block) const = 0;
};

// The mixer of config.architecture, and each kind's.
std::unique_ptr<Mixer> make_mixer(const ModelConfig& config, const PreparedWeights& weights,
                                  const ThreadingContext& threading);
std::unique_ptr<Mixer> make_mamba2_mixer(const ModelConfig& config, const PreparedWeights& weights,
                                         const ThreadingContext& threading);
std::unique_ptr<Mixer> make_mamba1_mixer(const ModelConfig& config, const PreparedWeights& weights,
                                         const ThreadingContext& threading);

}  // namespace mamba2
