#include "runtime/training/parameters.h"

#include <array>
#include <cmath>
#include <cstring>
#include <random>

#include "mamba2/error.h"

namespace mamba2::training {

void check_trainable_config(const ModelConfig& config, const std::string& where) {
  auto refuse = [&](const std::string& why) {
    throw Error(where, "the trainer does not support " + why);
  };
  if (config.architecture != Architecture::kMamba2) refuse("Mamba-1 models (Mamba-2 only)");
  if (!config.rmsnorm) refuse("rmsnorm = false");
  if (config.norm_before_gate) refuse("norm_before_gate = true");
  if (!config.conv_bias) refuse("conv_bias = false");
  if (config.proj_bias) refuse("projection biases (bias = true)");
  if (config.d_mlp != 0) refuse("d_ssm < d_inner");
  if (config.D_has_hdim) refuse("D_has_hdim = true");
}

ParameterLayout::ParameterLayout(const ModelConfig& config) : config_(config) {
  check_trainable_config(config, "training config");
  const ModelConfig& c = config_;
  add("token_embd.weight", {c.vocab_padded, c.d_model}, false);
  add_backbone();
  // The tied embedding is not decayed (upstream's optimizer groups leave embeddings out); an
  // untied lm_head is a projection and is.
  if (!c.tie_embeddings) add("output.weight", {c.vocab_padded, c.d_model}, true);
}

ParameterLayout::ParameterLayout(const ModelConfig& config, const ForecasterShape& head)
    : config_(config), head_(head) {
  check_trainable_config(config, "forecaster config");
  if (head.input_dim < 1 || head.output_dim < 1 || head.horizon < 1) {
    throw Error("forecaster config", "input_dim, output_dim and horizon must be positive");
  }
  const int64_t d = config_.d_model;
  // The names of our GGUF form (runtime/forecast/forecaster_gguf.h).
  add("forecast.input_proj.weight", {d, head.input_dim}, true);
  add("forecast.input_proj.bias", {d}, false);
  add_backbone();
  add("forecast.output_proj.weight", {head.outputs(), d}, true);
  add("forecast.output_proj.bias", {head.outputs()}, false);
}

void ParameterLayout::add_backbone() {
  const ModelConfig& c = config_;
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const std::string blk = "blk." + std::to_string(l) + ".";
    add(blk + "attn_norm.weight", {c.d_model}, false);
    add(blk + "ssm_in.weight", {c.d_in_proj, c.d_model}, true);
    add(blk + "ssm_conv1d.weight", {c.conv_dim, c.d_conv}, false);
    add(blk + "ssm_conv1d.bias", {c.conv_dim}, false);
    add(blk + "ssm_dt.bias", {c.nheads}, false);
    add(blk + "ssm_a_log", {c.nheads, 1}, false);
    add(blk + "ssm_d", {c.nheads, 1}, false);
    add(blk + "ssm_norm.weight", {c.ngroups, c.d_ssm / c.ngroups}, false);
    add(blk + "ssm_out.weight", {c.d_model, c.d_inner}, true);
  }
  add("output_norm.weight", {c.d_model}, false);
}

void ParameterLayout::add(std::string name, std::vector<int64_t> shape, bool weight_decay) {
  int64_t size = 1;
  for (int64_t d : shape) size *= d;  // the config's resolve() bounds every tensor size
  slots_.push_back({std::move(name), std::move(shape), total_, size, weight_decay});
  total_ += size;
}

template <class T>
ModelParams<T> view_params(const ParameterLayout& layout, T* base) {
  ModelParams<T> p;
  const auto head = [&](ParameterLayout::HeadSlot s) { return base + layout.head_slot(s).offset; };
  if (layout.forecaster()) {
    p.input_proj = head(ParameterLayout::kInputProj);
    p.input_proj_bias = head(ParameterLayout::kInputProjBias);
    p.output_proj = head(ParameterLayout::kOutputProj);
    p.output_proj_bias = head(ParameterLayout::kOutputProjBias);
  } else {
    p.embedding = base + layout.embedding().offset;
    p.lm_head = base + layout.lm_head().offset;
  }
  for (int64_t l = 0; l < layout.config().n_layer; ++l) {
    auto at = [&](ParameterLayout::LayerSlot s) { return base + layout.layer_slot(l, s).offset; };
    p.layers.push_back(
        {at(ParameterLayout::kNorm), at(ParameterLayout::kInProj), at(ParameterLayout::kConv),
         at(ParameterLayout::kConvBias), at(ParameterLayout::kDtBias), at(ParameterLayout::kALog),
         at(ParameterLayout::kD), at(ParameterLayout::kGatedNorm), at(ParameterLayout::kOutProj)});
  }
  p.norm_f = base + layout.norm_f().offset;
  return p;
}

std::vector<float> init_parameters(const ParameterLayout& layout, uint64_t seed) {
  const ModelConfig& c = layout.config();
  std::vector<float> params(static_cast<size_t>(layout.total()), 0.0f);
  ModelParams<float> p = view_params(layout, params.data());
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  auto fill_uniform = [&](float* v, int64_t n, float bound) {
    for (int64_t i = 0; i < n; ++i) v[i] = bound * (2.0f * uniform(rng) - 1.0f);
  };
  if (layout.forecaster()) {
    const ForecasterShape& h = layout.head();
    fill_uniform(p.input_proj, c.d_model * h.input_dim, 1.0f / std::sqrt(float(h.input_dim)));
  } else {
    for (int64_t i = 0; i < c.vocab_padded * c.d_model; ++i) p.embedding[i] = 0.02f * normal(rng);
  }
  for (int64_t l = 0; l < c.n_layer; ++l) {
    LayerParams<float>& w = p.layers[l];
    std::fill_n(w.norm, c.d_model, 1.0f);
    fill_uniform(w.in_proj, c.d_in_proj * c.d_model, 1.0f / std::sqrt(float(c.d_model)));
    fill_uniform(w.conv, c.conv_dim * c.d_conv, 1.0f / std::sqrt(float(c.d_conv)));
    fill_uniform(w.conv_bias, c.conv_dim, 1.0f / std::sqrt(float(c.d_conv)));
    for (int64_t h = 0; h < c.nheads; ++h) {
      const float dt = std::exp(std::log(0.001f) + uniform(rng) * std::log(100.0f));
      w.dt_bias[h] = dt + std::log(-std::expm1(-dt));  // softplus^-1(dt)
      w.A_log[h] = std::log(1.0f + 15.0f * uniform(rng));
      w.D[h] = 1.0f;
    }
    std::fill_n(w.gated_norm, c.d_ssm, 1.0f);
    fill_uniform(w.out_proj, c.d_model * c.d_inner,
                 1.0f / std::sqrt(float(c.d_inner)) / std::sqrt(float(c.n_layer)));
  }
  std::fill_n(p.norm_f, c.d_model, 1.0f);
  if (layout.forecaster()) {
    fill_uniform(p.output_proj, layout.head().outputs() * c.d_model,
                 1.0f / std::sqrt(float(c.d_model)));
  } else if (!c.tie_embeddings) {
    fill_uniform(p.lm_head, c.vocab_padded * c.d_model, 1.0f / std::sqrt(float(c.d_model)));
  }
  return params;
}

namespace {

// The tensor that holds a slot's values (A for A_log): the backbone's, or for a forecaster's
// head slots the head's. Templated on constness: reading uses const weights, writing fresh ones.
template <class Weights, class Head>
auto& weight_for(const ParameterLayout& layout, Weights& weights, Head* head, size_t slot) {
  const int64_t n_layer = layout.config().n_layer;
  const int64_t index = static_cast<int64_t>(slot) - layout.first_layer_slot();
  if (layout.forecaster()) {
    constexpr std::array members = {
        &ForecasterWeights::input_proj, &ForecasterWeights::input_proj_bias,
        &ForecasterWeights::output_proj, &ForecasterWeights::output_proj_bias};
    if (index < 0) return head->*members[slot];
    if (index > n_layer * ParameterLayout::kLayerSlots) {
      return head->*members[static_cast<size_t>(index - n_layer * ParameterLayout::kLayerSlots) +
                            1];
    }
  } else {
    if (index < 0) return weights.embedding;
    if (index > n_layer * ParameterLayout::kLayerSlots) return weights.lm_head;
  }
  if (index == n_layer * ParameterLayout::kLayerSlots) return weights.norm_f;
  auto& w = weights.layers[index / ParameterLayout::kLayerSlots];
  switch (index % ParameterLayout::kLayerSlots) {
    case ParameterLayout::kNorm:
      return w.norm;
    case ParameterLayout::kInProj:
      return w.in_proj;
    case ParameterLayout::kConv:
      return w.conv1d;
    case ParameterLayout::kConvBias:
      return w.conv1d_bias;
    case ParameterLayout::kDtBias:
      return w.dt_bias;
    case ParameterLayout::kALog:
      return w.A;
    case ParameterLayout::kD:
      return w.D;
    case ParameterLayout::kGatedNorm:
      return w.gated_norm;
    default:
      return w.out_proj;
  }
}

bool is_a_log(const ParameterLayout& layout, size_t slot) {
  const int64_t index = static_cast<int64_t>(slot) - layout.first_layer_slot();
  return index >= 0 && index < layout.config().n_layer * ParameterLayout::kLayerSlots &&
         index % ParameterLayout::kLayerSlots == ParameterLayout::kALog;
}

// The parameters of f32 backbone weights and, for a forecaster, its head.
template <class T>
std::vector<T> read_parameters(const ParameterLayout& layout, const ModelWeights& weights,
                               const ForecasterWeights* head) {
  const ModelConfig& c = layout.config();
  if (static_cast<int64_t>(weights.layers.size()) != c.n_layer) {
    throw Error("init model", "layer count does not match the training config");
  }
  std::vector<T> params(static_cast<size_t>(layout.total()));
  for (size_t s = 0; s < layout.slots().size(); ++s) {
    const ParameterSlot& slot = layout.slots()[s];
    const TensorView& view = weight_for(layout, weights, head, s);
    if (view.dtype != DType::kF32) {
      throw Error("init model", "tensor '" + slot.name +
                                    "' is not f32; fine-tuning needs an f32 model (mamba2-quantize "
                                    "--type f32 converts one)");
    }
    const std::span<const float> values = view.f32();
    if (static_cast<int64_t>(values.size()) != slot.size) {
      throw Error("init model", "tensor '" + slot.name + "' does not match the training config");
    }
    for (int64_t i = 0; i < slot.size; ++i) {
      const double v = values[i];
      if (is_a_log(layout, s)) {
        if (!(v < 0)) throw Error("init model", "tensor '" + slot.name + "' has A >= 0");
        params[slot.offset + i] = static_cast<T>(std::log(-v));
      } else {
        params[slot.offset + i] = static_cast<T>(v);
      }
    }
  }
  return params;
}

// Copies of `params` into `weights` (and `head`), owned by `weights`.
template <class T>
void write_parameters(const ParameterLayout& layout, const std::vector<T>& params,
                      ModelWeights& weights, ForecasterWeights* head) {
  weights.config = layout.config();
  weights.layers.resize(static_cast<size_t>(layout.config().n_layer));
  for (size_t s = 0; s < layout.slots().size(); ++s) {
    const ParameterSlot& slot = layout.slots()[s];
    std::vector<float> values(static_cast<size_t>(slot.size));
    for (int64_t i = 0; i < slot.size; ++i) {
      const double v = params[slot.offset + i];
      values[i] = static_cast<float>(is_a_log(layout, s) ? -std::exp(v) : v);
    }
    std::vector<std::byte> bytes(values.size() * sizeof(float));
    std::memcpy(bytes.data(), values.data(), bytes.size());
    TensorShape shape;
    shape.rank = static_cast<int>(slot.shape.size());
    for (int i = 0; i < shape.rank; ++i) shape.dims[i] = slot.shape[i];
    weight_for(layout, weights, head, s) = weights.own(DType::kF32, shape, std::move(bytes));
  }
}

}  // namespace

template <class T>
std::vector<T> parameters_from_weights(const ParameterLayout& layout, const ModelWeights& weights) {
  return read_parameters<T>(layout, weights, static_cast<const ForecasterWeights*>(nullptr));
}

template <class T>
ModelWeights weights_from_parameters(const ParameterLayout& layout, const std::vector<T>& params,
                                     const std::string& name,
                                     std::optional<TokenizerData> tokenizer) {
  ModelWeights weights;
  weights.name = name;
  weights.tokenizer = std::move(tokenizer);
  write_parameters(layout, params, weights, nullptr);
  check_model_weights(weights, name);
  return weights;
}

template <class T>
std::vector<T> parameters_from_forecaster(const ParameterLayout& layout,
                                          const ForecasterWeights& weights) {
  if (!layout.forecaster() || weights.shape.input_dim != layout.head().input_dim ||
      weights.shape.outputs() != layout.head().outputs()) {
    throw Error("init model", "the forecaster does not match the training layout");
  }
  return read_parameters<T>(layout, weights.backbone, &weights);
}

template <class T>
ForecasterWeights forecaster_from_parameters(const ParameterLayout& layout,
                                             const std::vector<T>& params,
                                             const std::string& name) {
  ForecasterWeights weights;
  weights.shape = layout.head();
  ModelWeights& backbone = weights.backbone;
  backbone.name = name;
  write_parameters(layout, params, backbone, &weights);
  // The token embedding the embeddings replace: one zero row, as a mamba2-jax model's.
  const int64_t d = layout.config().d_model;
  backbone.embedding =
      backbone.own(DType::kF32, TensorShape{1, d}, std::vector<std::byte>(d * sizeof(float)));
  check_model_weights(backbone, name);
  check_forecaster_weights(weights, name);
  return weights;
}

template ModelParams<float> view_params(const ParameterLayout&, float*);
template ModelParams<double> view_params(const ParameterLayout&, double*);
template ModelParams<const float> view_params(const ParameterLayout&, const float*);
template ModelParams<const double> view_params(const ParameterLayout&, const double*);
template std::vector<float> parameters_from_weights(const ParameterLayout&, const ModelWeights&);
template std::vector<double> parameters_from_weights(const ParameterLayout&, const ModelWeights&);
template ModelWeights weights_from_parameters(const ParameterLayout&, const std::vector<float>&,
                                              const std::string&, std::optional<TokenizerData>);
template ModelWeights weights_from_parameters(const ParameterLayout&, const std::vector<double>&,
                                              const std::string&, std::optional<TokenizerData>);
template std::vector<float> parameters_from_forecaster(const ParameterLayout&,
                                                       const ForecasterWeights&);
template std::vector<double> parameters_from_forecaster(const ParameterLayout&,
                                                        const ForecasterWeights&);
template ForecasterWeights forecaster_from_parameters(const ParameterLayout&,
                                                      const std::vector<float>&,
                                                      const std::string&);
template ForecasterWeights forecaster_from_parameters(const ParameterLayout&,
                                                      const std::vector<double>&,
                                                      const std::string&);

}  // namespace mamba2::training
