// The in-memory description of a Mamba model (Mamba-2 or Mamba-1): config, weight views and
// tokenizer, whatever file it came from. Tensors are held in llama.cpp's GGUF form (names, shapes,
// A = -exp(A_log)) so the GGUF writer, the quantizer and the engine all see inference-ready
// tensors.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mamba2/config.h"
#include "mamba2/quantization.h"
#include "mamba2/tensor.h"
#include "mamba2/tokenizer_data.h"

namespace mamba2 {

// One block's tensors; shapes are Mamba-2's unless marked "Mamba-1".
struct LayerWeights {
  TensorView norm;          // [d_model]             block RMSNorm weight
  TensorView in_proj;       // [d_in_proj, d_model]
  TensorView in_proj_bias;  // [d_in_proj]           only with config.proj_bias
  TensorView conv1d;        // [conv_dim, d_conv]    checkpoints store [conv_dim, 1, d_conv]
  TensorView conv1d_bias;   // [conv_dim]            only with config.conv_bias
  TensorView x_proj;        // Mamba-1: [d_x_proj, d_inner]   rows dt_low | B | C
  TensorView dt_proj;       // Mamba-1: [d_inner, dt_rank]
  TensorView dt_bias;       // [nheads]              Mamba-1: dt_proj's bias [d_inner]
  TensorView A;             // [nheads, 1]           -exp(A_log); Mamba-1: [d_inner, d_state]
  TensorView D;             // [nheads, 1], or [nheads, headdim] with D_has_hdim; Mamba-1: [d_inner]
  TensorView gated_norm;    // [ngroups, d_ssm / ngroups]   only with config.rmsnorm
  TensorView out_proj;      // [d_model, d_inner]
  TensorView out_proj_bias;  // [d_model]             only with config.proj_bias
};

struct ModelWeights {
  ModelConfig config;
  std::string name;                        // general.name, or the directory's name
  TensorView embedding;                    // [vocab_padded, d_model]
  std::vector<LayerWeights> layers;        // n_layer
  TensorView norm_f;                       // [d_model]
  TensorView lm_head;                      // [vocab_padded, d_model]; equals embedding when tied
  std::optional<TokenizerData> tokenizer;  // absent for models that work on ids only

  // Keeps whatever the views point into alive: mapped files and converted buffers.
  std::vector<std::shared_ptr<const void>> storage;

  // Stores `bytes` in `storage` and returns a view of them.
  TensorView own(DType dtype, TensorShape shape, std::vector<std::byte> bytes);
};

struct TensorSlot {
  std::string name;   // GGUF name: "blk.3.ssm_in.weight"
  TensorShape shape;  // the shape the config predicts
  TensorRole role;
  bool present;      // whether this config has the tensor (biases, gated norm, untied lm_head)
  TensorView* view;  // where the tensor lives in ModelWeights
};

// Calls `visit` for every tensor the config predicts, in GGUF order: token_embd, the blocks,
// output_norm, output. `weights.config` must be resolved; `layers` is sized to n_layer. The
// single enumeration behind loading, writing, quantizing and checking a model.
void for_each_tensor(ModelWeights& weights, const std::function<void(TensorSlot&)>& visit);
// The same walk for readers (totals, costs, fingerprints): `visit` must not write through
// slot.view.
void for_each_tensor(const ModelWeights& weights,
                     const std::function<void(const TensorSlot&)>& visit);

// The weights and bytes of a model's tensors, a tensor two slots share (a tied lm_head) counted
// once.
struct TensorTotals {
  int64_t weights = 0;
  uint64_t bytes = 0;
};
TensorTotals tensor_totals(const ModelWeights& weights);

// Whether the engine computes with (and the GGUF writer writes) weights of this type: every DType
// (f32, f16, bf16, q8_0 and ggml's other block types). A GGUF type outside DType is refused when
// the file is read; check_engine_type throws Error("<where>: tensor '<name>' has type <n>, which
// this runtime cannot compute with (...)") for a value outside the enumeration.
bool engine_computes_with(DType type);
void check_engine_type(DType type, const std::string& name, const std::string& where);

// Checks that every present slot holds a tensor of the predicted shape and a dtype the engine
// computes with, and points lm_head at the embedding when tied and absent. Throws Error naming
// `where` and the tensor.
void check_model_weights(ModelWeights& weights, const std::string& where);

// Converts every tensor to the type `policy` gives it, in memory (what mamba2-quantize writes to a
// file). A tied lm_head stays the embedding.
void convert_weights(ModelWeights& weights, const QuantizationPolicy& policy);

}  // namespace mamba2
