// Element types of weight tensors. The values are GGUF's ggml_type ids, so a GGUF tensor type
// maps to a DType by value.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace mamba2 {

enum class DType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ8_0 = 8,
  kBF16 = 30,
};

struct DTypeInfo {
  std::string_view name;  // as GGUF tools print it: "f32", "f16", "q8_0", "bf16"
  int64_t block_elems;    // elements per block (1 for plain floats)
  int64_t block_bytes;    // bytes per block
};

const DTypeInfo& dtype_info(DType type);
inline std::string_view dtype_name(DType type) { return dtype_info(type).name; }

// The DType of a ggml_type id, or nullopt for types we do not read.
std::optional<DType> dtype_from_ggml(uint32_t ggml_type);
// The DType named "f32", "f16", "bf16" or "q8_0" (case-insensitive), or nullopt.
std::optional<DType> dtype_from_name(std::string_view name);

// Bytes taken by `elems` elements, or nullopt when elems is negative, not a whole number of
// blocks, or the size overflows.
std::optional<uint64_t> dtype_bytes(DType type, int64_t elems);

}  // namespace mamba2
