// The trainable parameters of a Mamba-2 model as one flat buffer, and views that name its pieces.
// The same layout holds the gradients and the Adam moments, so the optimizer runs over flat
// arrays while the forward and backward read named tensors. A is trained as A_log (A =
// -exp(A_log)), as upstream does, and converted at the ModelWeights boundary.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mamba2/config.h"
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
  explicit ParameterLayout(const ModelConfig& config);

  const ModelConfig& config() const { return config_; }
  const std::vector<ParameterSlot>& slots() const { return slots_; }
  int64_t total() const { return total_; }

  // Slot indices: embedding, then per layer kLayerSlots slots, then norm_f, then lm_head (untied).
  enum LayerSlot { kNorm, kInProj, kConv, kConvBias, kDtBias, kALog, kD, kGatedNorm, kOutProj };
  static constexpr int kLayerSlots = 9;
  const ParameterSlot& layer_slot(int64_t layer, LayerSlot slot) const {
    return slots_[1 + layer * kLayerSlots + slot];
  }
  const ParameterSlot& embedding() const { return slots_[0]; }
  const ParameterSlot& norm_f() const { return slots_[1 + config_.n_layer * kLayerSlots]; }
  // The embedding when tied.
  const ParameterSlot& lm_head() const {
    return config_.tie_embeddings ? slots_[0] : slots_[2 + config_.n_layer * kLayerSlots];
  }

 private:
  void add(std::string name, std::vector<int64_t> shape, bool weight_decay);

  ModelConfig config_;
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
  T* embedding;  // [vocab_padded, d_model]
  std::vector<LayerParams<T>> layers;
  T* norm_f;   // [d_model]
  T* lm_head;  // [vocab_padded, d_model]; the embedding when tied
};

template <class T>
ModelParams<T> view_params(const ParameterLayout& layout, T* base);

// Fresh weights as Mamba2 initialises them: embedding N(0, 0.02), projections U(+-1/sqrt(fan_in))
// with out_proj scaled by 1/sqrt(n_layer) (upstream's prenorm residual rescale), conv U(+-1/sqrt(
// d_conv)), A_log = log U(1, 16), dt_bias = softplus^-1(dt), dt log-uniform in [0.001, 0.1],
// D = 1, norms = 1. The same seed gives the same values.
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

}  // namespace mamba2::training
