#include "mamba2/quantization.h"

namespace mamba2 {

TensorTypeChoice QuantizationPolicy::tensor_type(std::string_view name, TensorRole role,
                                                 const TensorShape& shape) const {
  if (role == TensorRole::kSmall || shape.rank != 2) return {DType::kF32, std::nullopt};
  if (keep_f32 && keep_f32(name)) return {DType::kF32, std::nullopt};
  const bool embedding_role = role == TensorRole::kEmbedding || role == TensorRole::kOutput;
  const DType requested = embedding_role && embedding_type ? *embedding_type : type;
  if (shape[1] % dtype_info(requested).block_elems != 0) return {DType::kF16, requested};
  return {requested, std::nullopt};
}

uint32_t QuantizationPolicy::llama_file_type() const {
  switch (type) {
    case DType::kF32:
      return 0;  // LLAMA_FTYPE_ALL_F32
    case DType::kF16:
      return 1;  // LLAMA_FTYPE_MOSTLY_F16
    case DType::kQ8_0:
      return 7;  // LLAMA_FTYPE_MOSTLY_Q8_0
    case DType::kBF16:
      return 32;  // LLAMA_FTYPE_MOSTLY_BF16
  }
  return 0;
}

}  // namespace mamba2
