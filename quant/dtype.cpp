#include "mamba2/dtype.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

#include "mamba2/dtype_names.h"

namespace mamba2 {
namespace {

constexpr DTypeInfo kF32Info{"f32", 1, 4};
constexpr DTypeInfo kF16Info{"f16", 1, 2};
constexpr DTypeInfo kBF16Info{"bf16", 1, 2};
constexpr DTypeInfo kQ8_0Info{"q8_0", 32, 34};  // f16 scale + 32 x int8
// ggml's other block types (quant/legacy_quants.h, k_quants.h, iq4.h), named as ggml names them.
constexpr DTypeInfo kQ4_0Info{"q4_0", 32, 18};
constexpr DTypeInfo kQ4_1Info{"q4_1", 32, 20};
constexpr DTypeInfo kQ5_0Info{"q5_0", 32, 22};
constexpr DTypeInfo kQ5_1Info{"q5_1", 32, 24};
constexpr DTypeInfo kQ2_KInfo{"q2_K", 256, 84};
constexpr DTypeInfo kQ3_KInfo{"q3_K", 256, 110};
constexpr DTypeInfo kQ4_KInfo{"q4_K", 256, 144};
constexpr DTypeInfo kQ5_KInfo{"q5_K", 256, 176};
constexpr DTypeInfo kQ6_KInfo{"q6_K", 256, 210};
constexpr DTypeInfo kIQ4_NLInfo{"iq4_nl", 32, 18};
constexpr DTypeInfo kIQ4_XSInfo{"iq4_xs", 256, 136};

constexpr std::array kAllTypes = {DType::kF32,  DType::kF16,    DType::kBF16,  DType::kQ8_0,
                                  DType::kQ4_0, DType::kQ4_1,   DType::kQ5_0,  DType::kQ5_1,
                                  DType::kQ2_K, DType::kQ3_K,   DType::kQ4_K,  DType::kQ5_K,
                                  DType::kQ6_K, DType::kIQ4_NL, DType::kIQ4_XS};

// ggml's types by id (ggml.h's enum ggml_type), "" for the ids it removed.
constexpr std::string_view kGgmlTypeNames[] = {
    "f32",     "f16",   "q4_0",   "q4_1",  "",      "",       "q5_0", "q5_1",    "q8_0",
    "q8_1",    "q2_K",  "q3_K",   "q4_K",  "q5_K",  "q6_K",   "q8_K", "iq2_xxs", "iq2_xs",
    "iq3_xxs", "iq1_s", "iq4_nl", "iq3_s", "iq2_s", "iq4_xs", "i8",   "i16",     "i32",
    "i64",     "f64",   "iq1_m",  "bf16",  "",      "",       "",     "tq1_0",   "tq2_0",
    "",        "",      "",       "mxfp4", "nvfp4", "q1_0",   "q2_0"};

std::string lowercase(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

}  // namespace

const DTypeInfo& dtype_info(DType type) {
  switch (type) {
    case DType::kF32:
      return kF32Info;
    case DType::kF16:
      return kF16Info;
    case DType::kBF16:
      return kBF16Info;
    case DType::kQ8_0:
      return kQ8_0Info;
    case DType::kQ4_0:
      return kQ4_0Info;
    case DType::kQ4_1:
      return kQ4_1Info;
    case DType::kQ5_0:
      return kQ5_0Info;
    case DType::kQ5_1:
      return kQ5_1Info;
    case DType::kQ2_K:
      return kQ2_KInfo;
    case DType::kQ3_K:
      return kQ3_KInfo;
    case DType::kQ4_K:
      return kQ4_KInfo;
    case DType::kQ5_K:
      return kQ5_KInfo;
    case DType::kQ6_K:
      return kQ6_KInfo;
    case DType::kIQ4_NL:
      return kIQ4_NLInfo;
    case DType::kIQ4_XS:
      return kIQ4_XSInfo;
  }
  return kF32Info;  // unreachable: DType values are only made by the functions below
}

std::optional<DType> dtype_from_ggml(uint32_t ggml_type) {
  for (DType type : kAllTypes) {
    if (static_cast<uint32_t>(type) == ggml_type) return type;
  }
  return std::nullopt;
}

std::optional<DType> dtype_from_name(std::string_view name) {
  const std::string lower = lowercase(name);
  for (DType type : kAllTypes) {
    if (lowercase(dtype_info(type).name) == lower) return type;  // "q4_K" has a capital
  }
  return std::nullopt;
}

std::optional<uint64_t> dtype_bytes(DType type, int64_t elems) {
  const DTypeInfo& info = dtype_info(type);
  if (elems < 0 || elems % info.block_elems != 0) return std::nullopt;
  const uint64_t blocks = static_cast<uint64_t>(elems / info.block_elems);
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(blocks, static_cast<uint64_t>(info.block_bytes), &bytes)) {
    return std::nullopt;
  }
  return bytes;
}

std::string ggml_type_name(uint32_t ggml_type) {
  if (ggml_type < std::size(kGgmlTypeNames) && !kGgmlTypeNames[ggml_type].empty()) {
    return std::string(kGgmlTypeNames[ggml_type]);
  }
  return "type " + std::to_string(ggml_type);
}

std::string dtype_names() {
  std::string names;
  for (const DType type : kAllTypes) {
    if (!names.empty()) names += ", ";
    names += dtype_name(type);
  }
  return names;
}

}  // namespace mamba2
