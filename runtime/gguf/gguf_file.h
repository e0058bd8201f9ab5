// Reads a GGUF file (versions 2 and 3) in place from a memory mapping: the metadata key/values,
// the tensor table and views of the tensor data. Every count, length and offset is checked
// against the file before it is used, so a damaged or hostile file gives an Error, never a crash
// or a huge allocation.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mamba2/gguf.h"
#include "mamba2/tensor.h"
#include "runtime/gguf/gguf_types.h"
#include "runtime/io/mapped_file.h"

namespace mamba2 {

// One metadata value. Strings and array elements point into the mapping of their GgufFile.
struct GgufValue {
  GgufType type = GgufType::kUint8;
  uint64_t uint_value = 0;  // kUint8/16/32/64 and kBool
  int64_t int_value = 0;    // kInt8/16/32/64
  double float_value = 0;   // kFloat32/64
  std::string_view string;  // kString

  // kArray: `count` elements of `element_type`, held in exactly one of the three members below.
  GgufType element_type = GgufType::kUint8;
  uint64_t count = 0;
  std::span<const std::byte> elements;    // fixed-size elements, little-endian and unaligned
  std::vector<std::string_view> strings;  // element_type == kString
  std::vector<GgufValue> arrays;          // element_type == kArray (nested arrays)

  // The value of an integer or bool scalar, or nullopt for another type or a u64 above INT64_MAX.
  std::optional<int64_t> as_int() const;
  // The value of a float scalar, or nullopt for another type.
  std::optional<double> as_float() const;
  // Element i of an array of integers (any width), or nullopt for another element type.
  std::optional<int64_t> int_element(uint64_t i) const;
};

class GgufFile {
 public:
  // Maps and parses `path`; throws Error("<path>: ...") for anything malformed.
  static GgufFile open(const std::filesystem::path& path);
  // Parses an existing mapping, which the GgufFile keeps alive.
  explicit GgufFile(std::shared_ptr<const MappedFile> file);

  const std::string& where() const { return where_; }  // the path, for error messages
  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // start of the tensor data section
  const std::shared_ptr<const MappedFile>& mapping() const { return file_; }

  // Metadata in file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }
  const GgufValue* find(std::string_view key) const;

  // Typed accessors. find_* return nullopt for a missing key and throw Error for a key of the
  // wrong type; get_* also throw for a missing key. Integers of any width and sign are accepted.
  std::optional<int64_t> find_int(std::string_view key) const;
  int64_t get_int(std::string_view key) const;
  std::optional<double> find_float(std::string_view key) const;
  double get_float(std::string_view key) const;
  std::optional<bool> find_bool(std::string_view key) const;
  std::optional<std::string_view> find_string(std::string_view key) const;
  std::string_view get_string(std::string_view key) const;
  // Arrays of strings and of integers; nullopt when missing.
  std::optional<std::span<const std::string_view>> find_string_array(std::string_view key) const;
  std::optional<std::vector<int64_t>> find_int_array(std::string_view key) const;
  // An array of float32 (as llama.cpp's vocabulary scores) or of int32 (which llama.cpp also
  // reads as scores); nullopt when missing.
  std::optional<std::vector<float>> find_float_array(std::string_view key) const;

  // Tensors in file order.
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;
  // A view of the tensor's bytes inside the mapping (valid while the mapping lives).
  TensorView view(const GgufTensorInfo& tensor) const;

 private:
  void parse();
  const GgufValue& require(std::string_view key) const;
  [[noreturn]] void wrong_type(std::string_view key, const GgufValue& value,
                               const char* expected) const;

  std::shared_ptr<const MappedFile> file_;
  std::string where_;
  uint32_t version_ = 0;
  uint32_t alignment_ = kGgufDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::unordered_map<std::string, size_t> metadata_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace mamba2
