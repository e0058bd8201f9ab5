#include "runtime/engine/prepared_weights.h"

#include "mamba2/error.h"
#include "quant/float16.h"

namespace mamba2 {
namespace {

class Preparer {
 public:
  explicit Preparer(PreparedWeights& out) : out_(out) {}

  // The tensor's elements as f32; null for an absent optional tensor. Other weight types are
  // widened once here until the quantized kernels read them in place.
  const float* f32(const TensorView& view, const char* what) {
    if (view.empty()) return nullptr;
    if (view.dtype == DType::kF32) return view.f32().data();
    const int64_t count = view.numel();
    if (count % dtype_info(view.dtype).block_elems != 0) {
      throw Error(std::string(what), "size is not a whole number of blocks");
    }
    std::vector<float>& buffer = out_.owned.emplace_back(static_cast<size_t>(count));
    convert_row_to_f32(view.dtype, view.data, buffer.data(), count);
    return buffer.data();
  }

  Projection projection(const TensorView& weight, const TensorView& bias, const char* what) {
    return Projection{f32(weight, what), f32(bias, what), weight.shape[0], weight.shape[1]};
  }

  // [C, K] checkpoint layout -> [K, C], so the conv kernel vectorises over channels.
  const float* transposed(const TensorView& view, const char* what) {
    const float* source = f32(view, what);
    const int64_t channels = view.shape[0];
    const int64_t taps = view.shape[1];
    std::vector<float>& buffer = out_.owned.emplace_back(static_cast<size_t>(channels * taps));
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t k = 0; k < taps; ++k) buffer[k * channels + c] = source[c * taps + k];
    }
    return buffer.data();
  }

 private:
  PreparedWeights& out_;
};

}  // namespace

std::unique_ptr<PreparedWeights> PreparedWeights::prepare(const ModelWeights& weights) {
  auto prepared = std::make_unique<PreparedWeights>();
  Preparer preparer(*prepared);
  prepared->embedding = preparer.f32(weights.embedding, "token_embd.weight");
  for (const LayerWeights& layer : weights.layers) {
    PreparedLayer& out = prepared->layers.emplace_back();
    out.norm = preparer.f32(layer.norm, "attn_norm");
    out.in_proj = preparer.projection(layer.in_proj, layer.in_proj_bias, "ssm_in");
    out.conv = preparer.transposed(layer.conv1d, "ssm_conv1d");
    out.conv_bias = preparer.f32(layer.conv1d_bias, "ssm_conv1d.bias");
    out.dt_bias = preparer.f32(layer.dt_bias, "ssm_dt.bias");
    out.A = preparer.f32(layer.A, "ssm_a");
    out.D = preparer.f32(layer.D, "ssm_d");
    out.gated_norm = preparer.f32(layer.gated_norm, "ssm_norm");
    out.out_proj = preparer.projection(layer.out_proj, layer.out_proj_bias, "ssm_out");
  }
  prepared->norm_f = preparer.f32(weights.norm_f, "output_norm");
  const bool tied = weights.lm_head.data == weights.embedding.data;
  prepared->lm_head = tied ? Projection{prepared->embedding, nullptr, weights.embedding.shape[0],
                                        weights.embedding.shape[1]}
                           : preparer.projection(weights.lm_head, TensorView{}, "output");
  return prepared;
}

}  // namespace mamba2
