// llama-quantize's per-tensor type rules (src/llama-quant.cpp: tensor_type_fallback and
// llama_tensor_get_type_impl), for the tensors Mamba-1 and Mamba-2 models have.
#include <array>
#include <cctype>

#include "mamba2/quantization.h"

namespace mamba2 {
namespace {

constexpr std::array<LlamaFileTypeInfo, 19> kFileTypes = {{
    {LlamaFileType::kF32, "F32", DType::kF32},
    {LlamaFileType::kF16, "F16", DType::kF16},
    {LlamaFileType::kBF16, "BF16", DType::kBF16},
    {LlamaFileType::kQ8_0, "Q8_0", DType::kQ8_0},
    {LlamaFileType::kQ4_0, "Q4_0", DType::kQ4_0},
    {LlamaFileType::kQ4_1, "Q4_1", DType::kQ4_1},
    {LlamaFileType::kQ5_0, "Q5_0", DType::kQ5_0},
    {LlamaFileType::kQ5_1, "Q5_1", DType::kQ5_1},
    {LlamaFileType::kQ2_K, "Q2_K", DType::kQ2_K},
    {LlamaFileType::kQ3_K_S, "Q3_K_S", DType::kQ3_K},
    {LlamaFileType::kQ3_K_M, "Q3_K_M", DType::kQ3_K},
    {LlamaFileType::kQ3_K_L, "Q3_K_L", DType::kQ3_K},
    {LlamaFileType::kQ4_K_S, "Q4_K_S", DType::kQ4_K},
    {LlamaFileType::kQ4_K_M, "Q4_K_M", DType::kQ4_K},
    {LlamaFileType::kQ5_K_S, "Q5_K_S", DType::kQ5_K},
    {LlamaFileType::kQ5_K_M, "Q5_K_M", DType::kQ5_K},
    {LlamaFileType::kQ6_K, "Q6_K", DType::kQ6_K},
    {LlamaFileType::kIQ4_NL, "IQ4_NL", DType::kIQ4_NL},
    {LlamaFileType::kIQ4_XS, "IQ4_XS", DType::kIQ4_XS},
}};

// llama-quantize's aliases (tools/quantize/quantize.cpp QUANT_OPTIONS): the _M mix.
struct Alias {
  std::string_view name;
  LlamaFileType file_type;
};
constexpr std::array<Alias, 3> kAliases = {{
    {"Q3_K", LlamaFileType::kQ3_K_M},
    {"Q4_K", LlamaFileType::kQ4_K_M},
    {"Q5_K", LlamaFileType::kQ5_K_M},
}};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) !=
        std::toupper(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool is_block_type(DType type) { return dtype_info(type).block_elems > 1; }

bool fits(DType type, int64_t row) { return row % dtype_info(type).block_elems == 0; }

// tensor_type_fallback: the type llama-quantize uses when `asked`'s blocks do not fit the rows.
// The 256-weight types fall back to a 32-weight type of about the same size; the 32-weight types
// have no fallback there (llama-quantize refuses the model), and F16 after that.
TensorTypeChoice with_fallback(DType asked, int64_t row) {
  if (fits(asked, row)) return {asked, std::nullopt, false};
  std::optional<DType> next;
  switch (asked) {
    case DType::kQ2_K:
    case DType::kQ3_K:
      next = DType::kQ4_0;
      break;
    case DType::kQ4_K:
      next = DType::kQ5_0;
      break;
    case DType::kQ5_K:
      next = DType::kQ5_1;
      break;
    case DType::kQ6_K:
      next = DType::kQ8_0;
      break;
    case DType::kIQ4_XS:
      next = DType::kIQ4_NL;
      break;
    default:
      break;
  }
  if (next && fits(*next, row)) return {*next, asked, false};
  return {DType::kF16, asked, !next};
}

}  // namespace

const LlamaFileTypeInfo& llama_file_type_info(LlamaFileType file_type) {
  for (const LlamaFileTypeInfo& info : kFileTypes) {
    if (info.file_type == file_type) return info;
  }
  return kFileTypes[0];  // unreachable for a valid enumerator
}

std::optional<LlamaFileType> llama_file_type_from_name(std::string_view name) {
  for (const LlamaFileTypeInfo& info : kFileTypes) {
    if (iequals(info.name, name)) return info.file_type;
  }
  for (const Alias& alias : kAliases) {
    if (iequals(alias.name, name)) return alias.file_type;
  }
  return std::nullopt;
}

std::string llama_file_type_names() {
  std::string names;
  for (const LlamaFileTypeInfo& info : kFileTypes) {
    if (!names.empty()) names += ", ";
    for (const char c : info.name) {
      names += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return names;
}

QuantizationPolicy QuantizationPolicy::for_llama_file_type(LlamaFileType file_type) {
  QuantizationPolicy policy;
  policy.type = llama_file_type_info(file_type).default_type;
  policy.file_type = file_type;
  return policy;
}

TensorTypeChoice QuantizationPolicy::tensor_type(std::string_view name, TensorRole role,
                                                 const TensorShape& shape) const {
  if (role == TensorRole::kSmall || shape.rank != 2) return {DType::kF32, std::nullopt, false};
  if (keep_f32 && keep_f32(name)) return {DType::kF32, std::nullopt, false};
  const int64_t row = shape[1];
  const bool embedding_role = role == TensorRole::kEmbedding || role == TensorRole::kOutput;
  if (embedding_role && embedding_type) return with_fallback(*embedding_type, row);
  // f32, f16 and bf16 files convert every large weight alike.
  if (!is_block_type(type)) return {type, std::nullopt, false};
  const bool output =
      role == TensorRole::kOutput || (role == TensorRole::kEmbedding && tied_embeddings);
  if (output) {
    // Q8_0 for rows that `type` cannot cover, else Q6_K unless the file is Q8_0.
    const DType chosen = !fits(type, row) || type == DType::kQ8_0 ? DType::kQ8_0 : DType::kQ6_K;
    return with_fallback(chosen, row);
  }
  return with_fallback(type, row);
}

uint32_t QuantizationPolicy::llama_file_type() const {
  if (file_type) return static_cast<uint32_t>(*file_type);
  for (const LlamaFileTypeInfo& info : kFileTypes) {
    // The first file type of each default type is its plain mix (Q3_K_S, Q4_K_S, Q5_K_S).
    if (info.default_type == type) return static_cast<uint32_t>(info.file_type);
  }
  return 0;
}

}  // namespace mamba2
