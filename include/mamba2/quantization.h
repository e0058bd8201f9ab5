// Which weight type each tensor of a model gets when it is converted: the one policy behind
// mamba2-quantize, the GGUF writer and mamba2-bench's in-memory conversion.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "mamba2/dtype.h"
#include "mamba2/tensor.h"

namespace mamba2 {

// What a tensor is for: decides which weight types it may be converted to.
enum class TensorRole {
  kEmbedding,   // token_embd
  kOutput,      // lm_head
  kProjection,  // ssm_in, ssm_out
  kSmall,       // norms, conv, A, D, dt bias, biases: always f32
};

struct TensorTypeChoice {
  DType type = DType::kF32;
  // The type that was asked for when `type` is a fallback: rows that are not whole blocks of it.
  std::optional<DType> fallback_from;
};

struct QuantizationPolicy {
  // Type of the large 2-D weights (token_embd, output, ssm_in, ssm_out); norms, conv, A, D and
  // biases always stay f32, as in llama.cpp's converter.
  DType type = DType::kF32;
  // mamba2-quantize's --embedding-type: the type of token_embd and output instead of `type`.
  std::optional<DType> embedding_type;
  // mamba2-quantize's --keep-f32: tensors whose GGUF name it accepts stay f32.
  std::function<bool(std::string_view name)> keep_f32;

  // The type of the tensor `name` with this role and shape. A block type whose rows the tensor
  // cannot fill with whole blocks falls back to f16, as llama.cpp's converter does for q8_0.
  TensorTypeChoice tensor_type(std::string_view name, TensorRole role,
                               const TensorShape& shape) const;
  // llama.cpp's general.file_type (enum llama_ftype) of a file made with this policy.
  uint32_t llama_file_type() const;
};

}  // namespace mamba2
