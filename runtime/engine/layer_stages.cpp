#include "runtime/engine/layer_stages.h"

#include <algorithm>
#include <vector>

#include "kernels/interleave.h"
#include "kernels/rmsnorm.h"
#include "quant/row_conversion.h"
#include "runtime/engine/projection.h"
#include "runtime/engine/tiles.h"

namespace mamba2 {

LayerStages::LayerStages(const ModelConfig& config, const PreparedWeights& weights,
                         const ThreadingContext& threading)
    : config_(config),
      weights_(weights),
      threading_(threading),
      mixer_(make_mixer(config, weights, threading)) {}

void LayerStages::embed(std::span<const int32_t> tokens, ActivationBlock& block) const {
  const int64_t d_model = config_.d_model;
  const EmbeddingTable& table = weights_.embedding;
  block.tokens = static_cast<int64_t>(tokens.size());
  std::vector<std::byte> stored;  // one row as stored, read back from an interleaved table
  if (table.layout != kernels::WeightLayout::kRows) stored.resize(table.row_bytes);
  for (size_t t = 0; t < tokens.size(); ++t) {
    float* row = &block.hidden[t * d_model];
    if (input_rows_) {
      std::copy_n(input_rows_ + int64_t{tokens[t]} * d_model, d_model, row);
    } else if (!stored.empty()) {
      kernels::deinterleave_row(table.layout, table.dtype, table.data, table.rows, table.cols,
                                tokens[t], stored.data());
      convert_row_to_f32(table.dtype, stored.data(), row, d_model);
    } else {
      // Only the rows needed, converted from the stored type (a copy for f32).
      convert_row_to_f32(table.dtype, table.data + int64_t{tokens[t]} * table.row_bytes, row,
                         d_model);
    }
  }
  std::fill_n(block.residual.begin(), block.tokens * d_model, 0.0f);
}

void LayerStages::project_in(int64_t layer, ActivationBlock& block) const {
  const int64_t d_model = config_.d_model;
  const float* norm = weights_.layers[layer].norm;
  threading_.for_tiles(block.tokens, kTokenTile, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      kernels::add_rmsnorm(&block.residual[t * d_model], &block.hidden[t * d_model], norm,
                           &block.normed[t * d_model], d_model, config_.norm_eps);
    }
  });
  observe(layer, block, block.residual);
  mixer_->project_in(layer, block);
}

void LayerStages::observe(int64_t layer, const ActivationBlock& block,
                          std::span<const float> rows) const {
  if (!observer_ || !*observer_) return;
  const int64_t d_model = config_.d_model;
  for (int64_t t = 0; t < block.tokens; ++t) {
    (*observer_)(layer, block.position + t, rows.subspan(t * d_model, d_model));
  }
}

void LayerStages::step_rows(std::span<const int32_t> tokens, const RowStates& states,
                            ActivationBlock& block) const {
  embed(tokens, block);
  for (int64_t layer = 0; layer < config_.n_layer; ++layer) {
    project_in(layer, block);
    mixer_->step_rows(layer, states, block);
    mixer_->project_out(layer, block);
  }
  final_norm(block);
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
  project(threading_, weights_.lm_head, block.normed.data() + row_begin * config_.d_model,
          config_.d_model, logits, config_.vocab_padded, row_end - row_begin, block.token_rows,
          block.matmul_input);
}

}  // namespace mamba2
