// The fingerprint of a model: enough to tell two models apart in microseconds, without reading
// all of their weights. Taken from the weights as loaded, before preparing may rearrange some in
// place (runtime/engine/prepared_weights.h), so a file gives the same fingerprint on every CPU.
#include "runtime/engine/model_fingerprint.h"

#include <algorithm>

#include "mamba2/conversation_state.h"
#include "runtime/io/fnv1a.h"

namespace mamba2 {
namespace {

// Bytes sampled from the start, middle and end of each tensor.
constexpr uint64_t kSampleBytes = 64;

void add_config(Fnv1a& hash, const ModelConfig& c) {
  for (int64_t value : {c.d_model, c.n_layer, c.vocab_size, c.vocab_padded, c.d_state, c.d_conv,
                        c.expand, c.headdim, c.ngroups, c.chunk_size, c.d_ssm, c.d_inner, c.nheads,
                        c.conv_dim, c.d_in_proj}) {
    hash.add_value(value);
  }
  for (bool flag :
       {c.tie_embeddings, c.rmsnorm, c.norm_before_gate, c.D_has_hdim, c.proj_bias, c.conv_bias}) {
    hash.add_value(static_cast<uint8_t>(flag));
  }
  hash.add_value(c.norm_eps);
}

void add_tensor(Fnv1a& hash, const TensorSlot& slot) {
  hash.add_text(slot.name);
  hash.add_value(static_cast<uint8_t>(slot.present));
  if (!slot.present || slot.view->empty()) return;
  const TensorView& view = *slot.view;
  hash.add_value(static_cast<int32_t>(view.dtype));
  for (int axis = 0; axis < view.shape.rank; ++axis) hash.add_value(view.shape[axis]);
  hash.add_value(view.nbytes);
  const uint64_t n = std::min(kSampleBytes, view.nbytes);
  hash.add(view.data, n);
  hash.add(view.data + (view.nbytes - n) / 2, n);
  hash.add(view.data + view.nbytes - n, n);
}

}  // namespace

uint64_t model_fingerprint(const Model& model) { return model.fingerprint(); }

uint64_t weights_fingerprint(const ModelWeights& weights) {
  Fnv1a hash;
  add_config(hash, weights.config);
  for_each_tensor(weights, [&](const TensorSlot& slot) { add_tensor(hash, slot); });
  hash.add_value(static_cast<uint64_t>(weights.tokenizer ? weights.tokenizer->tokens.size() : 0));
  return hash.value();
}

}  // namespace mamba2
