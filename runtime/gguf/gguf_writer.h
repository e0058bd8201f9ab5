// Writes a GGUF v3 file: metadata, the tensor table, then each tensor's bytes at the alignment,
// produced one tensor at a time so a model is never held whole in memory. The file is written
// under a temporary name and renamed into place only when complete.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "mamba2/gguf.h"
#include "mamba2/tensor.h"
#include "runtime/gguf/gguf_types.h"

namespace mamba2 {

struct GgufValue;  // runtime/gguf/gguf_file.h

// Hands a tensor's bytes to the writer, in order, in as many pieces as the producer likes.
using GgufByteSink = std::function<void(std::span<const std::byte>)>;
// Produces exactly the tensor's nbytes through the sink (the writer checks the count).
using GgufTensorProducer = std::function<void(const GgufByteSink&)>;

class GgufWriter {
 public:
  explicit GgufWriter(uint32_t alignment = kGgufDefaultAlignment);

  // Metadata, in the order added. Keys must be unique (throws Error otherwise).
  void add_uint32(std::string_view key, uint32_t value);
  void add_int32(std::string_view key, int32_t value);
  void add_uint64(std::string_view key, uint64_t value);
  void add_float32(std::string_view key, float value);
  void add_bool(std::string_view key, bool value);
  void add_string(std::string_view key, std::string_view value);
  void add_string_array(std::string_view key, std::span<const std::string> values);
  void add_int32_array(std::string_view key, std::span<const int32_t> values);
  void add_float32_array(std::string_view key, std::span<const float> values);
  // A value read from another GGUF file, copied with its exact type (as gguf_set_kv does).
  void add_value(std::string_view key, const GgufValue& value);

  // Declares a tensor (shape outermost first); `produce` is called during write().
  void add_tensor(std::string name, DType dtype, TensorShape shape, GgufTensorProducer produce);
  // Declares a tensor whose bytes already exist (they must outlive write()).
  void add_tensor(std::string name, const TensorView& view);

  // Writes everything to `path` atomically. Returns the file's size in bytes.
  uint64_t write(const std::filesystem::path& path, const GgufProgressCallback& progress = {});

 private:
  struct PendingTensor {
    std::string name;
    DType dtype;
    TensorShape shape;
    uint64_t nbytes;
    uint64_t offset;  // relative to the data section
    GgufTensorProducer produce;
  };

  void begin_key(std::string_view key, GgufType type);
  void begin_array(std::string_view key, GgufType element_type, uint64_t count);
  void put_bytes(const void* data, size_t size);
  void put_string(std::string_view text);
  void put_value(const GgufValue& value);
  template <class T>
  void put(T value) {
    put_bytes(&value, sizeof value);
  }

  uint32_t alignment_;
  std::vector<std::byte> metadata_;  // serialized key/values
  uint64_t n_kv_ = 0;
  std::unordered_set<std::string> keys_;
  std::vector<PendingTensor> tensors_;
  std::unordered_set<std::string> tensor_names_;
  uint64_t data_size_ = 0;  // data section so far, aligned
};

}  // namespace mamba2
