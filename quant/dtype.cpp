#include "mamba2/dtype.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

namespace mamba2 {
namespace {

constexpr DTypeInfo kF32Info{"f32", 1, 4};
constexpr DTypeInfo kF16Info{"f16", 1, 2};
constexpr DTypeInfo kBF16Info{"bf16", 1, 2};
constexpr DTypeInfo kQ8_0Info{"q8_0", 32, 34};  // f16 scale + 32 x int8

constexpr std::array kAllTypes = {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0};

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
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (DType type : kAllTypes) {
    if (dtype_info(type).name == lower) return type;
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

}  // namespace mamba2
