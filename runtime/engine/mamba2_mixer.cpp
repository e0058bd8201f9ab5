// The Mamba-2 layer kind (mamba_ssm/modules/mamba2.py): in_proj -> z | xBC | dt; causal conv +
// SiLU over xBC; the SSD scan over heads (kernels/ssd.h); gated RMSNorm; out_proj.

#include <algorithm>
#include <memory>

#include "kernels/elementwise.h"
#include "kernels/ssd.h"
#include "runtime/engine/activation_block.h"
#include "runtime/engine/projection.h"
#include "runtime/engine/ssm_mixer.h"
#include "runtime/engine/tiles.h"

namespace mamba2 {
namespace {

// One head tile per thread, at most four: each tile recomputes the C.B^T products its heads'
// groups share (a ninth of the chunk kernels' arithmetic for 130m), so fewer tiles cost less, and
// two threads need only two to balance. A head's output does not depend on
// its tile, so the thread count changes no bit.
int64_t ssd_head_tile(const ModelConfig& config, int threads) {
  const int64_t tiles = std::clamp<int64_t>(threads, 1, 4);
  return std::max<int64_t>(1, (config.nheads + tiles - 1) / tiles);
}

class Mamba2Mixer final : public SsmMixer {
 public:
  Mamba2Mixer(const ModelConfig& config, const PreparedWeights& weights,
              const ThreadingContext& threading)
      // xBC follows z (and the d_mlp halves) in in_proj's output.
      : SsmMixer(config, weights, threading, 2 * config.d_mlp + config.d_ssm),
        shape_{config.nheads, config.headdim, config.d_state, config.ngroups, config.D_has_hdim},
        head_tile_(ssd_head_tile(config, threading.threads())) {}

  // SSD workspaces per head tile (the fused scan's, or the state and output kernels'); one decay
  // per head. The decode step needs none.
  MixerBufferSizes buffer_sizes(int64_t capacity, BlockScan scan) const override {
    const int64_t tiles = (config_.nheads + head_tile_ - 1) / head_tile_;
    switch (scan) {
      case BlockScan::kSteps:
        break;
      case BlockScan::kChunked:
        return {kernels::ssd_scan_workspace_floats(shape_, capacity), tiles, 0};
      case BlockScan::kAssociative:
        return {kernels::ssd_workspace_floats(shape_, capacity), tiles, config_.nheads};
    }
    return {};
  }

  // Heads: one decay scales a head's [headdim, d_state] state.
  ScanUnits scan_units() const override {
    return {config_.nheads, head_tile_, 1, config_.headdim * config_.d_state};
  }

  // Chunked SSD: output, state and pass fused per head tile (in sub-chunks, kernels/ssd.h).
  void scan_chunk(int64_t layer, float* ssm_state, ActivationBlock& block) const override {
    discretize(layer, block);
    const kernels::SsdChunk chunk = ssd_chunk(layer, block);
    float* y = block.y.data() + config_.d_mlp;
    const float* state_in = entering_state(block, ssm_state);
    threading_.for_tiles(config_.nheads, head_tile_, [&](int64_t begin, int64_t end) {
      float* workspace =
          block.ssd_workspace.data() + begin / head_tile_ * block.ssd_workspace_stride;
      kernels::ssd_chunk_scan(shape_, chunk, state_in, ssm_state, y, config_.d_inner, workspace,
                              begin, end);
    });
  }

  void scan_chunk_local_state(int64_t layer, ActivationBlock& block) const override {
    discretize(layer, block);
    const kernels::SsdChunk chunk = ssd_chunk(layer, block);
    threading_.for_tiles(config_.nheads, head_tile_, [&](int64_t begin, int64_t end) {
      float* workspace =
          block.ssd_workspace.data() + begin / head_tile_ * block.ssd_workspace_stride;
      kernels::ssd_chunk_state(shape_, chunk, block.state_local.data(), block.decay.data(),
                               workspace, begin, end);
    });
  }

  void scan_chunk_output(int64_t layer, const float* state_in,
                         ActivationBlock& block) const override {
    const kernels::SsdChunk chunk = ssd_chunk(layer, block);
    float* y = block.y.data() + config_.d_mlp;
    state_in = entering_state(block, state_in);
    threading_.for_tiles(config_.nheads, head_tile_, [&](int64_t begin, int64_t end) {
      float* workspace =
          block.ssd_workspace.data() + begin / head_tile_ * block.ssd_workspace_stride;
      kernels::ssd_chunk_output(shape_, chunk, state_in, y, config_.d_inner, workspace, begin, end);
    });
  }

  void pass_state(const float* decay, const float* state_in, const float* state_local,
                  float* state_out, int64_t begin, int64_t end) const override {
    kernels::ssd_state_pass(shape_, decay, state_in, state_local, state_out, begin, end);
  }

  // Parallel over rows x head tiles.
  void step_rows(int64_t layer, const RowStates& states, ActivationBlock& block) const override {
    conv_.convolve_rows(layer, states, block);
    discretize(layer, block);
    const PreparedLayer& weights = weights_.layers[layer];
    const int64_t head_tiles = (config_.nheads + head_tile_ - 1) / head_tile_;
    threading_.for_tiles(block.tokens * head_tiles, 1, [&](int64_t index, int64_t) {
      const int64_t row = index / head_tiles;
      const int64_t begin = index % head_tiles * head_tile_;
      const int64_t end = std::min(config_.nheads, begin + head_tile_);
      const float* x = block.xbc.data() + row * config_.conv_dim;  // [conv_dim]: x | B | C
      const float* B = x + config_.d_ssm;
      const float* C = B + config_.ngroups * config_.d_state;
      float* y = block.y.data() + row * config_.d_inner + config_.d_mlp;
      kernels::ssd_step(shape_, x, B, C, block.dt.data() + row * config_.nheads, weights.A,
                        weights.D, states(row, layer).ssm, y, begin, end);
    });
  }

  // The d_mlp part and the gated RMSNorm, then out_proj.
  void project_out(int64_t layer, ActivationBlock& block) const override {
    const PreparedLayer& weights = weights_.layers[layer];
    const int64_t d_mlp = config_.d_mlp;
    const int64_t d_ssm = config_.d_ssm;
    const int64_t d_inner = config_.d_inner;
    const int64_t d_in_proj = config_.d_in_proj;
    threading_.for_tiles(block.tokens, kTokenTile, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const float* zxbcdt = &block.zxbcdt[t * d_in_proj];
        float* y = &block.y[t * d_inner];
        if (d_mlp > 0) kernels::silu_mul(zxbcdt, zxbcdt + d_mlp, y, d_mlp);
        kernels::gated_rmsnorm(y + d_mlp, zxbcdt + 2 * d_mlp, weights.gated_norm, y + d_mlp, d_ssm,
                               d_ssm / config_.ngroups, config_.norm_eps, config_.norm_before_gate);
      }
    });
    project(threading_, weights.out_proj, block.y.data(), d_inner, block.hidden.data(),
            config_.d_model, block.tokens, block.token_rows, block.matmul_input);
  }

 private:
  // The SSM state a chunk enters with, null at a sequence's start (position 0, a zero state):
  // the kernels then skip reading it out, a third of a first chunk's arithmetic.
  static const float* entering_state(const ActivationBlock& block, const float* state) {
    return block.position == 0 ? nullptr : state;
  }

  // dt = clamp(softplus(dt + dt_bias)).
  void discretize(int64_t layer, ActivationBlock& block) const {
    const PreparedLayer& weights = weights_.layers[layer];
    const float* dt_in = block.zxbcdt.data() + 2 * config_.d_mlp + config_.d_ssm + config_.conv_dim;
    kernels::dt_softplus(dt_in, config_.d_in_proj, weights.dt_bias, config_.dt_min_limit,
                         config_.dt_max_limit, block.dt.data(), block.tokens, config_.nheads);
  }

  kernels::SsdChunk ssd_chunk(int64_t layer, const ActivationBlock& block) const {
    const PreparedLayer& weights = weights_.layers[layer];
    const float* x = block.xbc.data();
    const float* B = x + config_.d_ssm;
    const float* C = B + config_.ngroups * config_.d_state;
    return kernels::SsdChunk{block.tokens,    x,         config_.conv_dim, B, C, config_.conv_dim,
                             block.dt.data(), weights.A, weights.D};
  }

  kernels::SsdShape shape_;
  int64_t head_tile_;
};

}  // namespace

std::unique_ptr<Mixer> make_mamba2_mixer(const ModelConfig& config, const PreparedWeights& weights,
                                         const ThreadingContext& threading) {
  return std::make_unique<Mamba2Mixer>(config, weights, threading);
}

}  // namespace mamba2
