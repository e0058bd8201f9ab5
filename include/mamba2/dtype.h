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
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kIQ4_NL = 20,
  kIQ4_XS = 23,
  kBF16 = 30,
};

struct DTypeInfo {
  std::string_view name;  // as GGUF tools print it: "f32", "f16", "q8_0", "q4_K", "iq4_nl", "bf16"
  int64_t block_elems;    // elements per block (1 for plain floats)
  int64_t block_bytes;    // bytes per block
};

const DTypeInfo& dtype_info(DType type);
inline std::string_view dtype_name(DType type) { return dtype_info(type).name; }

// The DType of a ggml_type id, or nullopt for types we do not read.
std::optional<DType> dtype_from_ggml(uint32_t ggml_type);
// The DType named "f32", "q4_K", "iq4_xs", ... (dtype_name, case-insensitive), or nullopt.
std::optional<DType> dtype_from_name(std::string_view name);

// Bytes taken by `elems` elements, or nullopt when elems is negative, not a whole number of
// blocks, or the size overflows.
std::optional<uint64_t> dtype_bytes(DType type, int64_t elems);

}  // namespace mamba2
