#include "mamba2/model_weights.h"

#include <set>

#include "mamba2/dtype_names.h"
#include "mamba2/error.h"

namespace mamba2 {

TensorView ModelWeights::own(DType dtype, TensorShape shape, std::vector<std::byte> bytes) {
  auto buffer = std::make_shared<std::vector<std::byte>>(std::move(bytes));
  TensorView view{dtype, shape, buffer->data(), buffer->size()};
  storage.push_back(std::move(buffer));
  return view;
}

namespace {

using Emit = std::function<void(std::string name, TensorShape shape, TensorRole role, bool present,
                                TensorView* view)>;

// The mixer's tensors of one Mamba-2 block, in llama.cpp's mamba2 order.
void mamba2_mixer_tensors(const ModelConfig& c, const std::string& blk, LayerWeights& layer,
                          const Emit& emit) {
  const TensorShape d_shape =
      c.D_has_hdim ? TensorShape{c.nheads, c.headdim} : TensorShape{c.nheads, 1};
  emit(blk + "ssm_dt.bias", {c.nheads}, TensorRole::kSmall, true, &layer.dt_bias);
  emit(blk + "ssm_a", {c.nheads, 1}, TensorRole::kSmall, true, &layer.A);
  emit(blk + "ssm_d", d_shape, TensorRole::kSmall, true, &layer.D);
  emit(blk + "ssm_norm.weight", {c.ngroups, c.d_ssm / c.ngroups}, TensorRole::kSmall, c.rmsnorm,
       &layer.gated_norm);
}

// The mixer's tensors of one Mamba-1 block (llama.cpp's mamba: ssm_x, ssm_dt, A per channel).
void mamba1_mixer_tensors(const ModelConfig& c, const std::string& blk, LayerWeights& layer,
                          const Emit& emit) {
  emit(blk + "ssm_x.weight", {c.d_x_proj, c.d_inner}, TensorRole::kProjection, true, &layer.x_proj);
  emit(blk + "ssm_dt.weight", {c.d_inner, c.dt_rank}, TensorRole::kProjection, true,
       &layer.dt_proj);
  emit(blk + "ssm_dt.bias", {c.d_inner}, TensorRole::kSmall, true, &layer.dt_bias);
  emit(blk + "ssm_a", {c.d_inner, c.d_state}, TensorRole::kSmall, true, &layer.A);
  emit(blk + "ssm_d", {c.d_inner}, TensorRole::kSmall, true, &layer.D);
}

}  // namespace

void for_each_tensor(ModelWeights& weights, const std::function<void(TensorSlot&)>& visit) {
  const ModelConfig& c = weights.config;
  const Emit emit = [&](std::string name, TensorShape shape, TensorRole role, bool present,
                        TensorView* view) {
    TensorSlot slot{std::move(name), shape, role, present, view};
    visit(slot);
  };

  emit("token_embd.weight", {c.vocab_padded, c.d_model}, TensorRole::kEmbedding, true,
       &weights.embedding);
  for (int64_t l = 0; l < c.n_layer; ++l) {
    LayerWeights& layer = weights.layers.at(static_cast<size_t>(l));
    const std::string blk = "blk." + std::to_string(l) + ".";
    emit(blk + "attn_norm.weight", {c.d_model}, TensorRole::kSmall, true, &layer.norm);
    emit(blk + "ssm_in.weight", {c.d_in_proj, c.d_model}, TensorRole::kProjection, true,
         &layer.in_proj);
    emit(blk + "ssm_in.bias", {c.d_in_proj}, TensorRole::kSmall, c.proj_bias, &layer.in_proj_bias);
    emit(blk + "ssm_conv1d.weight", {c.conv_dim, c.d_conv}, TensorRole::kSmall, true,
         &layer.conv1d);
    emit(blk + "ssm_conv1d.bias", {c.conv_dim}, TensorRole::kSmall, c.conv_bias,
         &layer.conv1d_bias);
    if (c.architecture == Architecture::kMamba1) {
      mamba1_mixer_tensors(c, blk, layer, emit);
    } else {
      mamba2_mixer_tensors(c, blk, layer, emit);
    }
    emit(blk + "ssm_out.weight", {c.d_model, c.d_inner}, TensorRole::kProjection, true,
         &layer.out_proj);
    emit(blk + "ssm_out.bias", {c.d_model}, TensorRole::kSmall, c.proj_bias, &layer.out_proj_bias);
  }
  emit("output_norm.weight", {c.d_model}, TensorRole::kSmall, true, &weights.norm_f);
  emit("output.weight", {c.vocab_padded, c.d_model}, TensorRole::kOutput, !c.tie_embeddings,
       &weights.lm_head);
}

void for_each_tensor(const ModelWeights& weights,
                     const std::function<void(const TensorSlot&)>& visit) {
  // The one place a read-only walk borrows the mutable one: nothing is written through it.
  for_each_tensor(const_cast<ModelWeights&>(weights), [&](TensorSlot& slot) { visit(slot); });
}

TensorTotals tensor_totals(const ModelWeights& weights) {
  TensorTotals totals;
  std::set<const std::byte*> seen;
  for_each_tensor(weights, [&](const TensorSlot& slot) {
    if (!slot.present || slot.view->empty() || !seen.insert(slot.view->data).second) return;
    totals.weights += slot.view->numel();
    totals.bytes += slot.view->nbytes;
  });
  return totals;
}

bool engine_computes_with(DType type) {
  // Every type a file may hold: f32, bf16 and the integer-kernel block types directly, the
  // others through dequantized panels (kernels/matmul_dispatch.h). Only a value outside the
  // enumeration is refused.
  return dtype_from_ggml(static_cast<uint32_t>(type)) == type;
}

void check_engine_type(DType type, const std::string& name, const std::string& where) {
  if (engine_computes_with(type)) return;
  throw Error(where, "tensor '" + name + "' has type " +
                         std::to_string(static_cast<uint32_t>(type)) +
                         ", which this runtime cannot compute with (" + dtype_names() + ")");
}

void check_model_weights(ModelWeights& weights, const std::string& where) {
  if (weights.layers.size() != static_cast<size_t>(weights.config.n_layer)) {
    throw Error(where, "model has " + std::to_string(weights.layers.size()) +
                           " layers, config says " + std::to_string(weights.config.n_layer));
  }
  const bool tied = weights.config.tie_embeddings;
  if (tied && weights.lm_head.data == weights.embedding.data) weights.lm_head = TensorView{};
  for_each_tensor(weights, [&](TensorSlot& slot) {
    const TensorView& view = *slot.view;
    if (!slot.present) {
      if (!view.empty())
        throw Error(where, "tensor '" + slot.name + "' is not used by this config");
      return;
    }
    if (view.empty()) throw Error(where, "tensor '" + slot.name + "' is missing");
    if (!(view.shape == slot.shape)) {
      throw Error(where, "tensor '" + slot.name + "' has shape " + view.shape.str() +
                             ", the config predicts " + slot.shape.str());
    }
    check_engine_type(view.dtype, slot.name, where);
    const auto bytes = dtype_bytes(view.dtype, view.numel());
    if (!bytes || *bytes != view.nbytes) {
      throw Error(where, "tensor '" + slot.name + "' has " + std::to_string(view.nbytes) +
                             " bytes, which does not match its type and shape");
    }
  });
  if (tied) weights.lm_head = weights.embedding;
}

}  // namespace mamba2
