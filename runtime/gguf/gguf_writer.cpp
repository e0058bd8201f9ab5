#include "runtime/gguf/gguf_writer.h"

#include <bit>
#include <cstring>

#include "mamba2/error.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/io/atomic_file.h"

namespace mamba2 {
namespace {

uint64_t align_up(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

}  // namespace

GgufWriter::GgufWriter(uint32_t alignment) : alignment_(alignment) {
  if (alignment == 0 || !std::has_single_bit(alignment)) {
    throw Error("GGUF writer", "alignment must be a power of two");
  }
}

void GgufWriter::put_bytes(const void* data, size_t size) {
  const auto* bytes = static_cast<const std::byte*>(data);
  metadata_.insert(metadata_.end(), bytes, bytes + size);
}

void GgufWriter::put_string(std::string_view text) {
  put<uint64_t>(text.size());
  put_bytes(text.data(), text.size());
}

void GgufWriter::begin_key(std::string_view key, GgufType type) {
  if (!keys_.emplace(key).second) {
    throw Error("GGUF writer", "metadata key '" + std::string(key) + "' added twice");
  }
  put_string(key);
  put<uint32_t>(static_cast<uint32_t>(type));
  ++n_kv_;
}

void GgufWriter::add_uint32(std::string_view key, uint32_t value) {
  begin_key(key, GgufType::kUint32);
  put(value);
}

void GgufWriter::add_int32(std::string_view key, int32_t value) {
  begin_key(key, GgufType::kInt32);
  put(value);
}

void GgufWriter::add_uint64(std::string_view key, uint64_t value) {
  begin_key(key, GgufType::kUint64);
  put(value);
}

void GgufWriter::add_float32(std::string_view key, float value) {
  begin_key(key, GgufType::kFloat32);
  put(value);
}

void GgufWriter::add_bool(std::string_view key, bool value) {
  begin_key(key, GgufType::kBool);
  put<uint8_t>(value ? 1 : 0);
}

void GgufWriter::add_string(std::string_view key, std::string_view value) {
  begin_key(key, GgufType::kString);
  put_string(value);
}

void GgufWriter::add_string_array(std::string_view key, std::span<const std::string> values) {
  begin_array(key, GgufType::kString, values.size());
  for (const std::string& value : values) put_string(value);
}

void GgufWriter::add_int32_array(std::string_view key, std::span<const int32_t> values) {
  begin_array(key, GgufType::kInt32, values.size());
  put_bytes(values.data(), values.size_bytes());
}

void GgufWriter::add_float32_array(std::string_view key, std::span<const float> values) {
  begin_array(key, GgufType::kFloat32, values.size());
  put_bytes(values.data(), values.size_bytes());
}

void GgufWriter::begin_array(std::string_view key, GgufType element_type, uint64_t count) {
  begin_key(key, GgufType::kArray);
  put<uint32_t>(static_cast<uint32_t>(element_type));
  put<uint64_t>(count);
}

void GgufWriter::put_value(const GgufValue& value) {
  switch (value.type) {
    case GgufType::kUint8:
    case GgufType::kBool:
      return put(static_cast<uint8_t>(value.uint_value));
    case GgufType::kInt8:
      return put(static_cast<int8_t>(value.int_value));
    case GgufType::kUint16:
      return put(static_cast<uint16_t>(value.uint_value));
    case GgufType::kInt16:
      return put(static_cast<int16_t>(value.int_value));
    case GgufType::kUint32:
      return put(static_cast<uint32_t>(value.uint_value));
    case GgufType::kInt32:
      return put(static_cast<int32_t>(value.int_value));
    case GgufType::kUint64:
      return put(value.uint_value);
    case GgufType::kInt64:
      return put(value.int_value);
    case GgufType::kFloat32:
      return put(static_cast<float>(value.float_value));  // read from a float: exact
    case GgufType::kFloat64:
      return put(value.float_value);
    case GgufType::kString:
      return put_string(value.string);
    case GgufType::kArray:
      put<uint32_t>(static_cast<uint32_t>(value.element_type));
      put<uint64_t>(value.count);
      if (value.element_type == GgufType::kString) {
        for (const std::string_view text : value.strings) put_string(text);
      } else if (value.element_type == GgufType::kArray) {
        for (const GgufValue& element : value.arrays) put_value(element);
      } else {
        put_bytes(value.elements.data(), value.elements.size());
      }
      return;
  }
}

void GgufWriter::add_value(std::string_view key, const GgufValue& value) {
  begin_key(key, value.type);
  put_value(value);
}

void GgufWriter::add_tensor(std::string name, DType dtype, TensorShape shape,
                            GgufTensorProducer produce) {
  const std::string where = "GGUF writer: tensor '" + name + "'";
  if (!tensor_names_.emplace(name).second) throw Error(where, "added twice");
  if (shape.rank > kGgufMaxDims) throw Error(where, "has more than 4 dimensions");
  const auto nbytes = dtype_bytes(dtype, shape.numel());
  if (!nbytes) throw Error(where, "shape " + shape.str() + " does not fit its type");
  if (shape.rank > 0 && shape[shape.rank - 1] % dtype_info(dtype).block_elems != 0) {
    throw Error(where, "rows are not whole " + std::string(dtype_name(dtype)) + " blocks");
  }
  tensors_.push_back({std::move(name), dtype, shape, *nbytes, data_size_, std::move(produce)});
  data_size_ = align_up(data_size_ + *nbytes, alignment_);
}

void GgufWriter::add_tensor(std::string name, const TensorView& view) {
  const std::byte* data = view.data;
  const uint64_t nbytes = view.nbytes;
  add_tensor(std::move(name), view.dtype, view.shape, [data, nbytes](const GgufByteSink& sink) {
    sink({data, nbytes});
  });
}

uint64_t GgufWriter::write(const std::filesystem::path& path,
                           const GgufProgressCallback& progress) {
  // The header and tensor table are small; build them in memory, then stream the data.
  std::vector<std::byte> head;
  auto append = [&head](const void* data, size_t size) {
    const auto* bytes = static_cast<const std::byte*>(data);
    head.insert(head.end(), bytes, bytes + size);
  };
  auto append_u32 = [&](uint32_t v) { append(&v, sizeof v); };
  auto append_u64 = [&](uint64_t v) { append(&v, sizeof v); };

  append_u32(kGgufMagic);
  append_u32(kGgufVersion);
  append_u64(tensors_.size());
  append_u64(n_kv_);
  append(metadata_.data(), metadata_.size());
  for (const PendingTensor& tensor : tensors_) {
    append_u64(tensor.name.size());
    append(tensor.name.data(), tensor.name.size());
    append_u32(static_cast<uint32_t>(tensor.shape.rank));
    for (int d = tensor.shape.rank - 1; d >= 0; --d) {  // ne: innermost first
      append_u64(static_cast<uint64_t>(tensor.shape[d]));
    }
    append_u32(static_cast<uint32_t>(tensor.dtype));
    append_u64(tensor.offset);
  }

  AtomicFile out(path);
  out.write(std::span<const std::byte>(head));
  out.write_zeros(align_up(head.size(), alignment_) - head.size());
  const uint64_t data_start = out.bytes_written();

  for (size_t i = 0; i < tensors_.size(); ++i) {
    const PendingTensor& tensor = tensors_[i];
    const uint64_t begin = out.bytes_written();
    if (begin != data_start + tensor.offset) {
      throw Error(path.string(), "internal error: tensor '" + tensor.name + "' misplaced");
    }
    uint64_t produced = 0;
    tensor.produce([&](std::span<const std::byte> bytes) {
      if (produced + bytes.size() > tensor.nbytes) {
        throw Error(path.string(), "tensor '" + tensor.name + "' produced more than its " +
                                       std::to_string(tensor.nbytes) + " bytes");
      }
      out.write(bytes);
      produced += bytes.size();
    });
    if (produced != tensor.nbytes) {
      throw Error(path.string(), "tensor '" + tensor.name + "' produced " +
                                     std::to_string(produced) + " of its " +
                                     std::to_string(tensor.nbytes) + " bytes");
    }
    out.write_zeros(align_up(tensor.nbytes, alignment_) - tensor.nbytes);  // as gguf.cpp pads
    if (progress) {
      progress({i, tensors_.size(), tensor.name, tensor.dtype, tensor.shape, tensor.nbytes});
    }
  }
  const uint64_t size = out.bytes_written();
  out.commit();
  return size;
}

}  // namespace mamba2
