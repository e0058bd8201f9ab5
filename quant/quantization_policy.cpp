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
    // ggml's other block types; a K-quant file whose large weights are all one type is the _S mix.
    case DType::kQ4_0:
      return 2;  // LLAMA_FTYPE_MOSTLY_Q4_0
    case DType::kQ4_1:
      return 3;  // LLAMA_FTYPE_MOSTLY_Q4_1
    case DType::kQ5_0:
      return 8;  // LLAMA_FTYPE_MOSTLY_Q5_0
    case DType::kQ5_1:
      return 9;  // LLAMA_FTYPE_MOSTLY_Q5_1
    case DType::kQ2_K:
      return 10;  // LLAMA_FTYPE_MOSTLY_Q2_K
    case DType::kQ3_K:
      return 11;  // LLAMA_FTYPE_MOSTLY_Q3_K_S
    case DType::kQ4_K:
      return 14;  // LLAMA_FTYPE_MOSTLY_Q4_K_S
    case DType::kQ5_K:
      return 16;  // LLAMA_FTYPE_MOSTLY_Q5_K_S
    case DType::kQ6_K:
      return 18;  // LLAMA_FTYPE_MOSTLY_Q6_K
    case DType::kIQ4_NL:
      return 25;  // LLAMA_FTYPE_MOSTLY_IQ4_NL
    case DType::kIQ4_XS:
      return 30;  // LLAMA_FTYPE_MOSTLY_IQ4_XS
  }
  return 0;
}

}  // namespace mamba2
