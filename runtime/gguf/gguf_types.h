// The vocabulary of the GGUF container (ggml/src/gguf.cpp, docs/gguf.md) shared by the reader and
// the writer: magic, versions, metadata value types and the default alignment.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace mamba2 {

inline constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as a little-endian u32
inline constexpr uint32_t kGgufVersion = 3;         // what we write; we read 2 and 3
inline constexpr uint32_t kGgufDefaultAlignment = 32;
inline constexpr int kGgufMaxDims = 4;  // GGML_MAX_DIMS

// Metadata value types (enum gguf_type).
enum class GgufType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

// "uint32", "string", ... as gguf-py prints them; nullopt for ids outside the enum.
std::optional<std::string_view> gguf_type_name(uint32_t type);
// Bytes of one value of a fixed-size type; 0 for kString and kArray.
uint64_t gguf_scalar_size(GgufType type);

}  // namespace mamba2
