// convert_weights: a model's tensors converted in memory as mamba2-quantize would write them.
#include <vector>

#include "mamba2/model_weights.h"
#include "quant/row_conversion.h"

namespace mamba2 {

void convert_weights(ModelWeights& weights, const QuantizationPolicy& model_policy) {
  const bool tied = weights.lm_head.data == weights.embedding.data;
  QuantizationPolicy policy = model_policy;
  policy.tied_embeddings = weights.config.tie_embeddings;
  for_each_tensor(weights, [&](TensorSlot& slot) {
    TensorView& view = *slot.view;
    if (!slot.present || view.empty()) return;
    const DType target = policy.tensor_type(slot.name, slot.role, view.shape).type;
    if (target == view.dtype) return;
    view = weights.own(target, view.shape,
                       converted_tensor(view.dtype, view.data, target, view.shape));
  });
  if (tied) weights.lm_head = weights.embedding;
}

}  // namespace mamba2
