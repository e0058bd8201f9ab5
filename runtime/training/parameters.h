// The trainable parameters of a Mamba-2 model as one flat buffer, and views that name its pieces.
// The same layout holds the gradients and the Adam moments, so the optimizer runs over flat
// arrays while the forward and backward read named tensors. A is trained as A_log (A =
// -exp(A_log)), as upstream does, and converted at the ModelWeights boundary. Two kinds of model
// share the backbone slots: a language model (token embedding and lm_head around them) and a
// forecaster (input_proj and output_proj, mamba2-jax's Mamba2Forecaster head).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mamba2/config.h"
#include "mamba2/forecaster.h"
#include "mamba2/model_weights.h"

namespace mamba2::training {

// One named tensor in the flat buffer.
struct ParameterSlot {
  std::string name;  // GGUF name ("blk.0.ssm_in.weight"; A_log is "blk.0.ssm_a_log")
  std::vector<int64_t> shape;
  int64_t offset = 0;         // elements from the buffer's start
  int64_t size = 0;           // elements
  bool weight_decay = false;  // AdamW decays matrices only (not norms, biases, A_log, D, dt_bias)
};

// Checks that the trainer supports `config` (the released models' choices: gated RMSNorm with
// norm_before_gate = false, conv bias, no projection biases, d_ssm = d_inner, scalar D). Throws
// Error naming `where` and the field otherwise.
void check_trainable_config(const ModelConfig& config, const std::string& where);

class ParameterLayout {
 public:
  // A language model of `config`.
  explicit ParameterLayout(const ModelConfig& config);
  // A forecaster: `config` is its backbone's (forecaster_backbone_config), `head` its head's.
  ParameterLayout(const ModelConfig& config, const ForecasterShape& head);

  const ModelConfig& config() const { return config_; }
  const std::vector<ParameterSlot>& slots() const { return slots_; }
  int64_t total() const { return total_; }
  bool forecaster() const { return head_.horizon > 0; }
  const ForecasterShape& head() const { return head_; }

  // Slot order. A language model: embedding, then per layer kLayerSlots slots, then norm_f, then
  // lm_head (untied). A forecaster: input_proj weight and bias, the layers, norm_f, output_proj
  // weight and bias.
  enum LayerSlot { kNorm, kInProj, kConv, kConvBias, kDtBias, kALog, kD, kGatedNorm, kOutProj };
  static constexpr int kLayerSlots = 9;
  int64_t first_layer_slot() const { return forecaster() ? 2 : 1; }
  const ParameterSlot& layer_slot(int64_t layer, LayerSlot slot) const {
    return slots_[first_layer_slot() + layer * kLayerSlots + slot];
  }
  int64_t norm_f_slot() const { return first_layer_slot() + config_.n_layer * kLayerSlots; }
  const ParameterSlot& norm_f() const { return slots_[norm_f_slot()]; }
  // Language models only.
  const ParameterSlot& embedding() const { return slots_[0]; }
  // The embedding when tied.
  const ParameterSlot& lm_head() const {
    return config_.tie_embeddings ? slots_[0] : slots_[norm_f_slot() + 1];
  }
  // Forecasters only.
  enum HeadSlot { kInputProj, kInputProjBias, kOutputProj, kOutputProjBias };
  const ParameterSlot& head_slot(HeadSlot slot) const {
    return slot <= kInputProjBias ? slots_[slot] : slots_[norm_f_slot() + 1 + slot - kOutputProj];
  }

 private:
  void add(std::string name, std::vector<int64_t> shape, bool weight_decay);
  void add_backbone();

  ModelConfig config_;
  ForecasterShape head_;  // horizon 0 for a language model
  std::vector<ParameterSlot> slots_;
  int64_t total_ = 0;
};

// Named pointers into one flat buffer of the layout (parameters or gradients).
template <class T>
struct LayerParams {
  T* norm;        // [d_model]
  T* in_proj;     // [d_in_proj, d_model]
  T* conv;        // [conv_dim, d_conv]
  T* conv_bias;   // [conv_dim]
  T* dt_bias;     // [nheads]
  T* A_log;       // [nheads]
  T* D;           // [nheads]
  T* gated_norm;  // [d_ssm]  (ngroups groups of d_ssm / ngroups)
  T* out_proj;    // [d_model, d_inner]
};

template <class T>
struct ModelParams {
  T* embedding = nullptr;  // [vocab_padded, d_model]                 (language model)
  std::vector<LayerParams<T>> layers;
  T* norm_f = nullptr;            // [d_model]
  T* lm_head = nullptr;           // [vocab_padded, d_model]; the embedding when tied
  T* input_proj = nullptr;        // [d_model, input_dim]                    (forecaster)
  T* input_proj_bias = nullptr;   // [d_model]
  T* output_proj = nullptr;       // [horizon * output_dim, d_model]
  T* output_proj_bias = nullptr;  // [horizon * output_dim]
};

template <class T>
ModelParams<T> view_params(const ParameterLayout& layout, T* base);

// Fresh weights as Mamba2 initialises them: embedding N(0, 0.02), projections U(+-1/sqrt(fan_in))
// with out_proj scaled by 1/sqrt(n_layer) (upstream's prenorm residual rescale), conv U(+-1/sqrt(
// d_conv)), A_log = log U(1, 16), dt_bias = softplus^-1(dt), dt log-uniform in [0.001, 0.1],
// D = 1, norms = 1. A forecaster's input_proj and output_proj are U(+-1/sqrt(fan_in)) with zero
// biases. The same seed gives the same values.
std::vector<float> init_parameters(const ParameterLayout& layout, uint64_t seed);

// The parameters of f32 `weights` (A_log = log(-A)); the layout's config must match theirs.
// Throws Error for weights that are not f32 or do not fit the layout.
template <class T>
std::vector<T> parameters_from_weights(const ParameterLayout& layout, const ModelWeights& weights);

// f32 ModelWeights holding copies of `params` (A = -exp(A_log)), with `tokenizer` and `name`.
template <class T>
ModelWeights weights_from_parameters(const ParameterLayout& layout, const std::vector<T>& params,
                                     const std::string& name,
                                     std::optional<TokenizerData> tokenizer);

// The same for a forecaster's weights; the layout must be a forecaster's of their shapes.
template <class T>
std::vector<T> parameters_from_forecaster(const ParameterLayout& layout,
                                          const ForecasterWeights& weights);

// f32 ForecasterWeights holding copies of `params`: the backbone with its one zero embedding row,
// and the head. No scalings or column names.
template <class T>
ForecasterWeights forecaster_from_parameters(const ParameterLayout& layout,
                                             const std::vector<T>& params, const std::string& name);

}  // namespace mamba2::training
