#include "runtime/engine/layer_stages.h"

#include <algorithm>
#include <cstring>

#include "kernels/conv1d.h"
#include "kernels/elementwise.h"
#include "kernels/matmul.h"
#include "kernels/matmul_dispatch.h"
#include "kernels/rmsnorm.h"
#include "quant/row_conversion.h"

namespace mamba2 {
namespace {

// Tile sizes: coarse enough that scheduling costs little, fine enough to load-balance two or
// more threads on the released model sizes.
constexpr int64_t kTokenTile = 16;
constexpr int64_t kChannelTile = 512;
constexpr int64_t kGemmRowTile = 256;

// A decode step's projection (one token, or a batch of up to kGemvMaxTokens sessions) in
// kDecodeTilesPerThread row tiles per thread, each a multiple of 16 rows (the q8_0 interleaved
// unit). Handing out a tile costs TBB about 0.1 us, and a layer runs several projections per token;
// these kernels give every row the same bits whatever its tile, so unlike the other loops the tiles
// may follow the thread count.
constexpr int64_t kDecodeTilesPerThread = 4;

int64_t decode_row_tile(int64_t rows, int threads) {
  const int64_t tiles = kDecodeTilesPerThread * threads;
  return ((rows + tiles - 1) / tiles + 15) / 16 * 16;
}

}  // namespace

LayerStages::LayerStages(const ModelConfig& config, const PreparedWeights& weights,
                         const ThreadingContext& threading)
    : config_(config),
      weights_(weights),
      threading_(threading),
      shape_{config.nheads, config.headdim, config.d_state, config.ngroups, config.D_has_hdim},
      head_tile_(ssd_head_tile(config)) {}

int64_t LayerStages::ssd_head_tile(const ModelConfig& config) {
  // About four tiles per layer: enough for two threads to balance, few enough that the
  // per-tile C.B^T products (shared by the heads of a group) are not recomputed often.
  return std::max<int64_t>(1, (config.nheads + 3) / 4);
}

void LayerStages::embed(std::span<const int32_t> tokens, ActivationBlock& block) const {
  const int64_t d_model = config_.d_model;
  const EmbeddingTable& table = weights_.embedding;
  block.tokens = static_cast<int64_t>(tokens.size());
  for (size_t t = 0; t < tokens.size(); ++t) {
    float* row = &block.hidden[t * d_model];
    if (input_rows_) {
      std::copy_n(input_rows_ + int64_t{tokens[t]} * d_model, d_model, row);
    } else {
      // Only the rows needed, converted from the stored type (a copy for f32).
      convert_row_to_f32(table.dtype, table.data + int64_t{tokens[t]} * table.row_bytes, row,
                         d_model);
    }
  }
  std::fill_n(block.residual.begin(), block.tokens * d_model, 0.0f);
}

void LayerStages::project(const Projection& projection, const float* x, int64_t ld_x, float* y,
                          int64_t ld_y, int64_t tokens, kernels::MatmulInput& input) const {
  const kernels::MatmulOperands args{.x = {x, tokens, projection.cols, ld_x},
                                     .w = {projection.dtype, projection.weight, projection.rows,
                                           projection.cols, projection.layout},
                                     .bias = projection.bias,
                                     .y = {y, tokens, projection.rows, ld_y}};
  // Quantized weights read the activations converted once per call (q8_0 blocks, bf16), by
  // fixed token tiles; every row tile then shares them. The block's buffers are reused.
  input.prepare(args);
  if (projection.dtype != DType::kF32) {
    threading_.for_tiles(tokens, kTokenTile,
                         [&](int64_t begin, int64_t end) { input.convert(begin, end); });
  }
  const int64_t tile = tokens <= kernels::kGemvMaxTokens
                           ? decode_row_tile(projection.rows, threading_.threads())
                           : kGemmRowTile;
  threading_.for_tiles(projection.rows, tile,
                       [&](int64_t begin, int64_t end) { kernels::matmul(input, begin, end); });
}

void LayerStages::project_in(int64_t layer, ActivationBlock& block) const {
  const PreparedLayer& weights = weights_.layers[layer];
  const int64_t d_model = config_.d_model;
  threading_.for_tiles(block.tokens, kTokenTile, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      kernels::add_rmsnorm(&block.residual[t * d_model], &block.hidden[t * d_model], weights.norm,
                           &block.normed[t * d_model], d_model, config_.norm_eps);
    }
  });
  observe(layer, block, block.residual);
  project(weights.in_proj, block.normed.data(), d_model, block.zxbcdt.data(), config_.d_in_proj,
          block.tokens, block.matmul_input);
}

void LayerStages::observe(int64_t layer, const ActivationBlock& block,
                          const AlignedVector<float>& rows) const {
  if (!observer_ || !*observer_) return;
  const int64_t d_model = config_.d_model;
  for (int64_t t = 0; t < block.tokens; ++t) {
    (*observer_)(layer, block.position + t, std::span<const float>(&rows[t * d_model], d_model));
  }
}

void LayerStages::convolve(int64_t layer, float* conv_state, ActivationBlock& block) const {
  const float* in = block.zxbcdt.data() + 2 * config_.d_mlp + config_.d_ssm;
  threading_.for_tiles(config_.conv_dim, kChannelTile, [&](int64_t begin, int64_t end) {
    convolve_channels(layer, conv_state, in, block.xbc.data(), block.tokens, begin, end);
  });
}

void LayerStages::step_rows(std::span<const int32_t> tokens, const RowStates& states,
                            ActivationBlock& block) const {
  embed(tokens, block);
  for (int64_t layer = 0; layer < config_.n_layer; ++layer) {
    project_in(layer, block);
    convolve_rows(layer, states, block);
    discretize(layer, block);
    scan_step_rows(layer, states, block);
    project_out(layer, block);
  }
  final_norm(block);
}

void LayerStages::convolve_rows(int64_t layer, const RowStates& states,
                                ActivationBlock& block) const {
  const int64_t channel_tiles = (config_.conv_dim + kChannelTile - 1) / kChannelTile;
  const float* in = block.zxbcdt.data() + 2 * config_.d_mlp + config_.d_ssm;
  threading_.for_tiles(block.tokens * channel_tiles, 1, [&](int64_t index, int64_t) {
    const int64_t row = index / channel_tiles;
    const int64_t begin = index % channel_tiles * kChannelTile;
    const int64_t end = std::min(config_.conv_dim, begin + kChannelTile);
    convolve_channels(layer, states(row, layer).conv, in + row * config_.d_in_proj,
                      block.xbc.data() + row * config_.conv_dim, 1, begin, end);
  });
}

void LayerStages::convolve_channels(int64_t layer, float* conv_state, const float* in, float* out,
                                    int64_t tokens, int64_t begin, int64_t end) const {
  const PreparedLayer& weights = weights_.layers[layer];
  const int64_t channels = config_.conv_dim;
  const int64_t taps = config_.d_conv;
  const int64_t ld_in = config_.d_in_proj;
  // The kernel carries the d_conv-1 inputs it needs (state rows 1..); row 0 keeps the input
  // before those, as upstream's conv_state does, so saved states match the reference layout.
  const kernels::Conv1dArgs args{in,
                                 ld_in,
                                 conv_state + channels,
                                 weights.conv,
                                 weights.conv_bias,
                                 out,
                                 channels,
                                 tokens,
                                 channels,
                                 taps};
  float oldest[kChannelTile];
  // In the sequence [state rows 0..taps-1, inputs 0..tokens-1], the new row 0 is entry `tokens`.
  for (int64_t c = begin; c < end; ++c) {
    oldest[c - begin] =
        tokens < taps ? conv_state[tokens * channels + c] : in[(tokens - taps) * ld_in + c];
  }
  kernels::conv1d_silu(args, begin, end);
  std::copy(oldest, oldest + (end - begin), conv_state + begin);
}

void LayerStages::discretize(int64_t layer, ActivationBlock& block) const {
  const PreparedLayer& weights = weights_.layers[layer];
  const float* dt_in = block.zxbcdt.data() + 2 * config_.d_mlp + config_.d_ssm + config_.conv_dim;
  kernels::dt_softplus(dt_in, config_.d_in_proj, weights.dt_bias, config_.dt_min_limit,
                       config_.dt_max_limit, block.dt.data(), block.tokens, config_.nheads);
}

kernels::SsdChunk LayerStages::ssd_chunk(int64_t layer, const ActivationBlock& block) const {
  const PreparedLayer& weights = weights_.layers[layer];
  const float* x = block.xbc.data();
  const float* B = x + config_.d_ssm;
  const float* C = B + config_.ngroups * config_.d_state;
  return kernels::SsdChunk{block.tokens,    x,         config_.conv_dim, B, C, config_.conv_dim,
                           block.dt.data(), weights.A, weights.D};
}

void LayerStages::scan_chunk(int64_t layer, float* ssm_state, ActivationBlock& block) const {
  const kernels::SsdChunk chunk = ssd_chunk(layer, block);
  float* y = block.y.data() + config_.d_mlp;
  threading_.for_tiles(config_.nheads, head_tile_, [&](int64_t begin, int64_t end) {
    float* workspace = block.ssd_workspace.data() + begin / head_tile_ * block.ssd_workspace_stride;
    kernels::ssd_chunk_output(shape_, chunk, ssm_state, y, config_.d_inner, workspace, begin, end);
    kernels::ssd_chunk_state(shape_, chunk, block.state_local.data(), block.decay.data(), workspace,
                             begin, end);
    kernels::ssd_state_pass(shape_, block.decay.data(), ssm_state, block.state_local.data(),
                            ssm_state, begin, end);
  });
}

void LayerStages::scan_chunk_local_state(int64_t layer, ActivationBlock& block) const {
  const kernels::SsdChunk chunk = ssd_chunk(layer, block);
  threading_.for_tiles(config_.nheads, head_tile_, [&](int64_t begin, int64_t end) {
    float* workspace = block.ssd_workspace.data() + begin / head_tile_ * block.ssd_workspace_stride;
    kernels::ssd_chunk_state(shape_, chunk, block.state_local.data(), block.decay.data(), workspace,
                             begin, end);
  });
}

void LayerStages::scan_chunk_output(int64_t layer, const float* state_in,
                                    ActivationBlock& block) const {
  const kernels::SsdChunk chunk = ssd_chunk(layer, block);
  float* y = block.y.data() + config_.d_mlp;
  threading_.for_tiles(config_.nheads, head_tile_, [&](int64_t begin, int64_t end) {
    float* workspace = block.ssd_workspace.data() + begin / head_tile_ * block.ssd_workspace_stride;
    kernels::ssd_chunk_output(shape_, chunk, state_in, y, config_.d_inner, workspace, begin, end);
  });
}

void LayerStages::scan_step_rows(int64_t layer, const RowStates& states,
                                 ActivationBlock& block) const {
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
    kernels::ssd_step(shape_, x, B, C, block.dt.data() + row * config_.nheads, weights.A, weights.D,
                      states(row, layer).ssm, y, begin, end);
  });
}

void LayerStages::project_out(int64_t layer, ActivationBlock& block) const {
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
  project(weights.out_proj, block.y.data(), d_inner, block.hidden.data(), config_.d_model,
          block.tokens, block.matmul_input);
}

void LayerStages::final_norm(ActivationBlock& block) const {
  const int64_t d_model = config_.d_model;
  threading_.for_tiles(block.tokens, kTokenTile, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      kernels::add_rmsnorm(&block.residual[t * d_model], &block.hidden[t * d_model],
                           weights_.norm_f, &block.normed[t * d_model], d_model, config_.norm_eps);
    }
  });
  observe(config_.n_layer, block, block.normed);
}

void LayerStages::logits(ActivationBlock& block, int64_t row_begin, int64_t row_end,
                         float* logits) const {
  project(weights_.lm_head, block.normed.data() + row_begin * config_.d_model, config_.d_model,
          logits, config_.vocab_padded, row_end - row_begin, block.matmul_input);
}

}  // namespace mamba2
