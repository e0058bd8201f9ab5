// Which weight type each tensor of a model gets when it is converted: the one policy behind
// mamba2-quantize, the GGUF writer and mamba2-bench's in-memory conversion. It is llama.cpp's
// (src/llama-quant.cpp, without an importance matrix) for the tensors Mamba models have, so a
// file we quantize has the types `llama-quantize` would give it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "mamba2/dtype.h"
#include "mamba2/tensor.h"

namespace mamba2 {

// What a tensor is for: decides which weight types it may be converted to.
enum class TensorRole {
  kEmbedding,   // token_embd
  kOutput,      // lm_head
  kProjection,  // ssm_in, ssm_out (Mamba-1 also ssm_x, ssm_dt.weight)
  kSmall,       // norms, conv, A, D, dt bias, biases: never quantized
};

// llama.cpp's file types (enum llama_ftype, general.file_type) that mamba2-quantize writes. Each
// has a default weight type; the _S/_M/_L mixes differ only on attention and FFN tensors, which
// Mamba models do not have, so for them a mix changes general.file_type and nothing else.
enum class LlamaFileType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ8_0 = 7,
  kQ5_0 = 8,
  kQ5_1 = 9,
  kQ2_K = 10,
  kQ3_K_S = 11,
  kQ3_K_M = 12,
  kQ3_K_L = 13,
  kQ4_K_S = 14,
  kQ4_K_M = 15,
  kQ5_K_S = 16,
  kQ5_K_M = 17,
  kQ6_K = 18,
  kIQ4_NL = 25,
  kIQ4_XS = 30,
  kBF16 = 32,
};

struct LlamaFileTypeInfo {
  LlamaFileType file_type;
  std::string_view name;  // as llama-quantize spells it: "Q4_K_M"
  DType default_type;     // the type of the large weights (llama_ftype_get_default_type)
};

const LlamaFileTypeInfo& llama_file_type_info(LlamaFileType file_type);
// The file type llama-quantize calls `name`, case-insensitively ("q4_k_m", "Q8_0"), including its
// aliases Q3_K, Q4_K and Q5_K for the _M mixes; nullopt for any other name.
std::optional<LlamaFileType> llama_file_type_from_name(std::string_view name);
// Every name llama_file_type_from_name takes, lower case and comma-separated, for help texts.
std::string llama_file_type_names();

struct TensorTypeChoice {
  DType type = DType::kF32;
  // The type that was asked for when `type` is a fallback: rows that are not whole blocks of it.
  std::optional<DType> fallback_from;
  // llama-quantize has no fallback for fallback_from (q8_0, q4_0, ...: it refuses the model);
  // we write f16, as llama.cpp's converter does.
  bool beyond_llama_quantize = false;
};

struct QuantizationPolicy {
  // Default type of the large 2-D weights (token_embd, output, ssm_in, ssm_out, ...); norms, conv,
  // A, D and biases are never converted.
  DType type = DType::kF32;
  // The llama.cpp file type written as general.file_type; nullopt: the plain (_S) mix of `type`.
  std::optional<LlamaFileType> file_type;
  // token_embd is also the output (no output.weight): llama-quantize then gives it the output
  // tensor's type (Q6_K for the 2- to 6-bit types).
  bool tied_embeddings = false;
  // mamba2-quantize's --embedding-type: the type of token_embd and output instead of `type` (as
  // llama-quantize's --token-embedding-type and --output-tensor-type together).
  std::optional<DType> embedding_type;
  // mamba2-quantize's --keep-f32: tensors whose GGUF name it accepts stay f32.
  std::function<bool(std::string_view name)> keep_f32;

  // The policy llama-quantize applies for `file_type`.
  static QuantizationPolicy for_llama_file_type(LlamaFileType file_type);

  // The type of the tensor `name` with this role and shape (outermost first, rows last).
  // llama-quantize's rules: the output tensor (or a tied token_embd) gets Q6_K, or Q8_0 when its
  // rows are not whole blocks of `type`; a block type whose blocks do not fit the rows falls back
  // Q4_K->Q5_0, Q5_K->Q5_1, Q6_K->Q8_0, Q2_K/Q3_K->Q4_0, IQ4_XS->IQ4_NL, then to F16.
  TensorTypeChoice tensor_type(std::string_view name, TensorRole role,
                               const TensorShape& shape) const;
  // llama.cpp's general.file_type (enum llama_ftype) of a file made with this policy.
  uint32_t llama_file_type() const;
};

}  // namespace mamba2
