// The Mamba-1 layer kind (mamba_ssm/modules/mamba_simple.py Mamba): in_proj -> x | z; causal
// conv + SiLU over x; x_proj -> dt_low | B | C; dt = softplus(dt_proj(dt_low) + bias); the
// selective scan per channel (kernels/selective_scan.h); y * silu(z); out_proj.

#include <algorithm>
#include <memory>
#include <vector>

#include "kernels/elementwise.h"
#include "kernels/rmsnorm.h"
#include "kernels/selective_scan.h"
#include "runtime/engine/activation_block.h"
#include "runtime/engine/projection.h"
#include "runtime/engine/ssm_mixer.h"
#include "runtime/engine/tiles.h"

namespace mamba2 {
namespace {

// Channels per scan task: a tile's state (64 x d_state floats) stays in L1 across a chunk, and
// d_inner 1536 (mamba-130m) gives 24 tasks to balance.
constexpr int64_t kScanChannelTile = 64;

class Mamba1Mixer final : public SsmMixer {
 public:
  Mamba1Mixer(const ModelConfig& config, const PreparedWeights& weights,
              const ThreadingContext& threading)
      // x is the first half of in_proj's output.
      : SsmMixer(config, weights, threading, 0),
        ones_(static_cast<size_t>(std::max(config.dt_rank, config.d_state)), 1.0f) {}

  // Only the associative path has scratch: the state its output pass advances from the chunk's
  // entering state, and a decay per channel and state entry. The chunked scan advances the
  // session's state itself.
  MixerBufferSizes buffer_sizes(int64_t, BlockScan scan) const override {
    if (scan != BlockScan::kAssociative) return {};
    const int64_t state = config_.d_inner * config_.d_state;
    return {state, 1, state};
  }

  // Channels: d_state decays scale a channel's d_state entries one to one.
  ScanUnits scan_units() const override {
    return {config_.d_inner, kScanChannelTile, config_.d_state, config_.d_state};
  }

  // The selective scan from the carried state, each channel tile's state kept in registers.
  void scan_chunk(int64_t layer, float* ssm_state, ActivationBlock& block) const override {
    discretize(layer, block);
    const kernels::SelectiveScanChunk chunk = scan_input(layer, block, 0, block.tokens);
    threading_.for_tiles(config_.d_inner, kScanChannelTile, [&](int64_t begin, int64_t end) {
      kernels::selective_scan(chunk, ssm_state, block.y.data(), config_.d_inner, begin, end);
    });
  }

  // From zero, and the decay exp(A * sum dt).
  void scan_chunk_local_state(int64_t layer, ActivationBlock& block) const override {
    discretize(layer, block);
    const kernels::SelectiveScanChunk chunk = scan_input(layer, block, 0, block.tokens);
    threading_.for_tiles(config_.d_inner, kScanChannelTile, [&](int64_t begin, int64_t end) {
      kernels::selective_scan_state(chunk, block.state_local.data(), block.decay.data(), begin,
                                    end);
    });
  }

  // The scan rerun from the entering state: y needs the state at every token.
  void scan_chunk_output(int64_t layer, const float* state_in,
                         ActivationBlock& block) const override {
    const kernels::SelectiveScanChunk chunk = scan_input(layer, block, 0, block.tokens);
    const int64_t N = config_.d_state;
    threading_.for_tiles(config_.d_inner, kScanChannelTile, [&](int64_t begin, int64_t end) {
      float* state = block.ssd_workspace.data();  // [d_inner, d_state], from state_in
      std::copy(state_in + begin * N, state_in + end * N, state + begin * N);
      kernels::selective_scan(chunk, state, block.y.data(), config_.d_inner, begin, end);
    });
  }

  void pass_state(const float* decay, const float* state_in, const float* state_local,
                  float* state_out, int64_t begin, int64_t end) const override {
    const int64_t N = config_.d_state;
    kernels::selective_state_pass(decay, state_in, state_local, state_out, begin * N, end * N);
  }

  // Parallel over rows x channel tiles.
  void step_rows(int64_t layer, const RowStates& states, ActivationBlock& block) const override {
    conv_.convolve_rows(layer, states, block);
    discretize(layer, block);
    const int64_t tiles = (config_.d_inner + kScanChannelTile - 1) / kScanChannelTile;
    threading_.for_tiles(block.tokens * tiles, 1, [&](int64_t index, int64_t) {
      const int64_t row = index / tiles;
      const int64_t begin = index % tiles * kScanChannelTile;
      const int64_t end = std::min(config_.d_inner, begin + kScanChannelTile);
      kernels::selective_scan(scan_input(layer, block, row, 1), states(row, layer).ssm,
                              block.y.data() + row * config_.d_inner, config_.d_inner, begin, end);
    });
  }

  // y * silu(z), then out_proj.
  void project_out(int64_t layer, ActivationBlock& block) const override {
    const int64_t d_inner = config_.d_inner;
    threading_.for_tiles(block.tokens, kTokenTile, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        float* y = &block.y[t * d_inner];
        kernels::silu_mul(&block.zxbcdt[t * config_.d_in_proj + d_inner], y, y, d_inner);
      }
    });
    project(threading_, weights_.layers[layer].out_proj, block.y.data(), d_inner,
            block.hidden.data(), config_.d_model, block.tokens, block.token_rows,
            block.matmul_input);
  }

 private:
  // x_dbl = x_proj(x); dt = softplus(dt_proj(dt_low) + bias), for every row of the block.
  void discretize(int64_t layer, ActivationBlock& block) const {
    const PreparedLayer& weights = weights_.layers[layer];
    const int64_t d_inner = config_.d_inner;
    project(threading_, weights.x_proj, block.xbc.data(), config_.conv_dim, block.x_dbl.data(),
            config_.d_x_proj, block.tokens, block.token_rows, block.matmul_input);
    if (config_.dt_b_c_rms) normalize_dt_b_c(block);
    project(threading_, weights.dt_proj, block.x_dbl.data(), config_.d_x_proj, block.dt.data(),
            d_inner, block.tokens, block.token_rows, block.matmul_input);
    threading_.for_tiles(block.tokens, kTokenTile, [&](int64_t begin, int64_t end) {
      float* dt = block.dt.data() + begin * d_inner;  // [end - begin, d_inner], in place
      kernels::dt_softplus(dt, d_inner, weights.dt_bias, 0.0f, config_.dt_max_limit, dt,
                           end - begin, d_inner);
    });
  }

  // falcon-mamba: dt_low, B and C of every row each RMS-normalised without a weight.
  void normalize_dt_b_c(ActivationBlock& block) const {
    const int64_t R = config_.dt_rank, N = config_.d_state;
    const float eps = config_.dt_b_c_rms_eps;
    threading_.for_tiles(block.tokens, kTokenTile, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        float* row = block.x_dbl.data() + t * config_.d_x_proj;  // [d_x_proj]: dt_low | B | C
        kernels::rmsnorm(row, ones_.data(), row, R, eps);
        kernels::rmsnorm(row + R, ones_.data(), row + R, N, eps);
        kernels::rmsnorm(row + R + N, ones_.data(), row + R + N, N, eps);
      }
    });
  }

  // Rows [row, row + tokens) of the block as a scan input.
  kernels::SelectiveScanChunk scan_input(int64_t layer, const ActivationBlock& block, int64_t row,
                                         int64_t tokens) const {
    const PreparedLayer& weights = weights_.layers[layer];
    const float* B = block.x_dbl.data() + row * config_.d_x_proj + config_.dt_rank;
    return kernels::SelectiveScanChunk{tokens,
                                       config_.d_state,
                                       block.xbc.data() + row * config_.conv_dim,
                                       config_.conv_dim,
                                       block.dt.data() + row * config_.d_inner,
                                       config_.d_inner,
                                       B,
                                       B + config_.d_state,
                                       config_.d_x_proj,
                                       weights.A,
                                       weights.D};
  }

  std::vector<float> ones_;  // [max(dt_rank, d_state)]: the weight of a weightless RMSNorm
};

}  // namespace

std::unique_ptr<Mixer> make_mamba1_mixer(const ModelConfig& config, const PreparedWeights& weights,
                                         const ThreadingContext& threading) {
  return std::make_unique<Mamba1Mixer>(config, weights, threading);
}

}  // namespace mamba2
