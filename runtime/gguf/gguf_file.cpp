#include "runtime/gguf/gguf_file.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include "mamba2/dtype_names.h"
#include "mamba2/error.h"

namespace mamba2 {
namespace {

// Nested arrays deeper than this are refused: no real file nests at all, and unbounded recursion
// on a crafted file would exhaust the stack.
constexpr int kMaxArrayDepth = 8;

// The fewest bytes an entry can take, used to refuse counts the rest of the file cannot hold
// before anything is allocated for them.
constexpr uint64_t kMinStringBytes = 8;                  // u64 length, empty text
constexpr uint64_t kMinArrayBytes = 4 + 8;               // element type + count
constexpr uint64_t kMinKeyValueBytes = 8 + 4 + 1;        // key length + value type + a u8 value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;  // name length, n_dims, type, offset

std::string in_quotes(std::string_view text) {
  std::string result(1, '\'');
  result.append(text);
  result.push_back('\'');
  return result;
}

// Reads little-endian values from the mapping, refusing to go past its end.
class Cursor {
 public:
  Cursor(std::span<const std::byte> bytes, const std::string& where)
      : bytes_(bytes), where_(where) {}

  uint64_t position() const { return pos_; }
  uint64_t remaining() const { return bytes_.size() - pos_; }

  void need(uint64_t count, const std::string& what) const {
    if (count > remaining()) {
      throw Error(where_, what + " at byte " + std::to_string(pos_) +
                              " extends past the end of the file (" +
                              std::to_string(bytes_.size()) + " bytes)");
    }
  }

  // Refuses `count` entries of at least `min_bytes` each when the rest of the file is too short.
  void need_entries(uint64_t count, uint64_t min_bytes, const std::string& what) const {
    if (count > remaining() / min_bytes) {
      throw Error(where_, what + ": count " + std::to_string(count) + " at byte " +
                              std::to_string(pos_) + " cannot fit in the remaining " +
                              std::to_string(remaining()) + " bytes of the file");
    }
  }

  std::span<const std::byte> take(uint64_t count, const std::string& what) {
    need(count, what);
    const auto span = bytes_.subspan(pos_, count);
    pos_ += count;
    return span;
  }

  template <class T>
  T read(const std::string& what) {
    T value;
    std::memcpy(&value, take(sizeof(T), what).data(), sizeof(T));
    return value;
  }

  std::string_view read_string(const std::string& what) {
    const auto length = read<uint64_t>(what + " length");
    const auto text = take(length, what);
    return {reinterpret_cast<const char*>(text.data()), text.size()};
  }

 private:
  std::span<const std::byte> bytes_;
  const std::string& where_;
  uint64_t pos_ = 0;
};

GgufType checked_type(uint32_t raw, const std::string& where, const std::string& what) {
  if (!gguf_type_name(raw)) {
    throw Error(where, what + " has unknown value type " + std::to_string(raw));
  }
  return static_cast<GgufType>(raw);
}

GgufValue read_value(Cursor& in, GgufType type, const std::string& where, const std::string& what,
                     int depth);

void read_array(Cursor& in, GgufValue& value, const std::string& where, const std::string& what,
                int depth) {
  if (depth >= kMaxArrayDepth) {
    throw Error(where,
                what + " nests arrays more than " + std::to_string(kMaxArrayDepth) + " deep");
  }
  value.element_type =
      checked_type(in.read<uint32_t>(what + " element type"), where, what + " element");
  value.count = in.read<uint64_t>(what + " element count");
  const std::string elements = what + " elements";
  switch (value.element_type) {
    case GgufType::kString:
      in.need_entries(value.count, kMinStringBytes, elements);
      value.strings.reserve(value.count);
      for (uint64_t i = 0; i < value.count; ++i) value.strings.push_back(in.read_string(elements));
      return;
    case GgufType::kArray:
      in.need_entries(value.count, kMinArrayBytes, elements);
      value.arrays.reserve(value.count);
      for (uint64_t i = 0; i < value.count; ++i) {
        value.arrays.push_back(read_value(in, GgufType::kArray, where,
                                          what + "[" + std::to_string(i) + "]", depth + 1));
      }
      return;
    default: {
      const uint64_t size = gguf_scalar_size(value.element_type);
      in.need_entries(value.count, size, elements);
      value.elements = in.take(value.count * size, elements);
      return;
    }
  }
}

GgufValue read_value(Cursor& in, GgufType type, const std::string& where, const std::string& what,
                     int depth) {
  GgufValue value;
  value.type = type;
  switch (type) {
    case GgufType::kUint8:
      value.uint_value = in.read<uint8_t>(what);
      break;
    case GgufType::kInt8:
      value.int_value = in.read<int8_t>(what);
      break;
    case GgufType::kUint16:
      value.uint_value = in.read<uint16_t>(what);
      break;
    case GgufType::kInt16:
      value.int_value = in.read<int16_t>(what);
      break;
    case GgufType::kUint32:
      value.uint_value = in.read<uint32_t>(what);
      break;
    case GgufType::kInt32:
      value.int_value = in.read<int32_t>(what);
      break;
    case GgufType::kUint64:
      value.uint_value = in.read<uint64_t>(what);
      break;
    case GgufType::kInt64:
      value.int_value = in.read<int64_t>(what);
      break;
    case GgufType::kFloat32:
      value.float_value = in.read<float>(what);
      break;
    case GgufType::kFloat64:
      value.float_value = in.read<double>(what);
      break;
    case GgufType::kBool: {
      const auto raw = in.read<uint8_t>(what);
      if (raw > 1) throw Error(where, what + " is a bool of value " + std::to_string(raw));
      value.uint_value = raw;
      break;
    }
    case GgufType::kString:
      value.string = in.read_string(what);
      break;
    case GgufType::kArray:
      read_array(in, value, where, what, depth);
      break;
  }
  return value;
}

int64_t load_int(const std::byte* at, GgufType type, bool* ok) {
  *ok = true;
  switch (type) {
    case GgufType::kUint8:
    case GgufType::kBool: {
      uint8_t v;
      std::memcpy(&v, at, sizeof v);
      return v;
    }
    case GgufType::kInt8: {
      int8_t v;
      std::memcpy(&v, at, sizeof v);
      return v;
    }
    case GgufType::kUint16: {
      uint16_t v;
      std::memcpy(&v, at, sizeof v);
      return v;
    }
    case GgufType::kInt16: {
      int16_t v;
      std::memcpy(&v, at, sizeof v);
      return v;
    }
    case GgufType::kUint32: {
      uint32_t v;
      std::memcpy(&v, at, sizeof v);
      return v;
    }
    case GgufType::kInt32: {
      int32_t v;
      std::memcpy(&v, at, sizeof v);
      return v;
    }
    case GgufType::kUint64: {
      uint64_t v;
      std::memcpy(&v, at, sizeof v);
      if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) break;
      return static_cast<int64_t>(v);
    }
    case GgufType::kInt64: {
      int64_t v;
      std::memcpy(&v, at, sizeof v);
      return v;
    }
    default:
      break;
  }
  *ok = false;
  return 0;
}

bool is_integer(GgufType type) {
  switch (type) {
    case GgufType::kUint8:
    case GgufType::kInt8:
    case GgufType::kUint16:
    case GgufType::kInt16:
    case GgufType::kUint32:
    case GgufType::kInt32:
    case GgufType::kUint64:
    case GgufType::kInt64:
    case GgufType::kBool:
      return true;
    default:
      return false;
  }
}

std::string type_text(const GgufValue& value) {
  std::string text(*gguf_type_name(static_cast<uint32_t>(value.type)));
  if (value.type == GgufType::kArray) {
    text += " of " + std::string(*gguf_type_name(static_cast<uint32_t>(value.element_type)));
  }
  return text;
}

}  // namespace

std::optional<int64_t> GgufValue::as_int() const {
  if (type == GgufType::kInt8 || type == GgufType::kInt16 || type == GgufType::kInt32 ||
      type == GgufType::kInt64) {
    return int_value;
  }
  if (is_integer(type)) {
    if (uint_value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<int64_t>(uint_value);
  }
  return std::nullopt;
}

std::optional<double> GgufValue::as_float() const {
  if (type == GgufType::kFloat32 || type == GgufType::kFloat64) return float_value;
  return std::nullopt;
}

std::optional<int64_t> GgufValue::int_element(uint64_t i) const {
  if (type != GgufType::kArray || !is_integer(element_type) || i >= count) return std::nullopt;
  bool ok = false;
  const int64_t v =
      load_int(elements.data() + i * gguf_scalar_size(element_type), element_type, &ok);
  if (!ok) return std::nullopt;
  return v;
}

GgufFile GgufFile::open(const std::filesystem::path& path) {
  return GgufFile(MappedFile::open(path));
}

GgufFile::GgufFile(std::shared_ptr<const MappedFile> file)
    : file_(std::move(file)), where_(file_->path().string()) {
  parse();
}

void GgufFile::parse() {
  Cursor in(file_->bytes(), where_);

  // Header: magic, version, tensor count, key/value count.
  in.need(4, "GGUF magic");
  if (in.read<uint32_t>("magic") != kGgufMagic) {
    throw Error(where_, "not a GGUF file (the first four bytes are not \"GGUF\")");
  }
  version_ = in.read<uint32_t>("GGUF version");
  if (version_ != 2 && version_ != 3) {
    if (version_ != 0 && (version_ & 0xFFFFu) == 0) {
      throw Error(where_, "big-endian GGUF files are not supported");
    }
    throw Error(where_,
                "GGUF version " + std::to_string(version_) + " is not supported (only 2 and 3)");
  }
  const auto n_tensors = in.read<uint64_t>("tensor count");
  const auto n_kv = in.read<uint64_t>("metadata count");

  // Metadata.
  in.need_entries(n_kv, kMinKeyValueBytes, "metadata");
  metadata_.reserve(n_kv);
  for (uint64_t i = 0; i < n_kv; ++i) {
    const std::string what = "metadata entry " + std::to_string(i);
    std::string key(in.read_string(what + " key"));
    const std::string key_what = "metadata key " + in_quotes(key);
    const GgufType type = checked_type(in.read<uint32_t>(key_what + " type"), where_, key_what);
    GgufValue value = read_value(in, type, where_, key_what, 0);
    if (!metadata_index_.emplace(key, metadata_.size()).second) {
      throw Error(where_, "metadata key " + in_quotes(key) + " appears twice");
    }
    metadata_.emplace_back(std::move(key), std::move(value));
  }

  if (const GgufValue* value = find("general.alignment")) {
    const auto alignment = value->as_int();
    if (value->type != GgufType::kUint32 || !alignment || *alignment == 0 ||
        !std::has_single_bit(static_cast<uint64_t>(*alignment))) {
      throw Error(where_, "general.alignment must be a uint32 power of two");
    }
    alignment_ = static_cast<uint32_t>(*alignment);
  }

  // Tensor infos: name, dims, type, offset (relative to the data section).
  in.need_entries(n_tensors, kMinTensorInfoBytes, "tensor table");
  tensors_.reserve(n_tensors);
  std::vector<uint64_t> relative_offsets;
  relative_offsets.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo info;
    info.name = std::string(in.read_string("tensor " + std::to_string(i) + " name"));
    if (info.name.empty()) throw Error(where_, "tensor " + std::to_string(i) + " has no name");
    const std::string what = "tensor " + in_quotes(info.name);
    const auto n_dims = in.read<uint32_t>(what + " dimension count");
    if (n_dims > kGgufMaxDims) {
      throw Error(where_,
                  what + " has " + std::to_string(n_dims) + " dimensions, at most 4 are allowed");
    }
    int64_t ne[kGgufMaxDims] = {1, 1, 1, 1};
    for (uint32_t d = 0; d < n_dims; ++d) {
      ne[d] = in.read<int64_t>(what + " dimensions");
      if (ne[d] < 0) throw Error(where_, what + " has a negative dimension");
    }
    info.shape.rank = static_cast<int>(n_dims);
    for (uint32_t d = 0; d < n_dims; ++d) info.shape.dims[n_dims - 1 - d] = ne[d];
    const int64_t numel = info.shape.numel();
    if (numel < 0) throw Error(where_, what + " has more elements than fit in 64 bits");

    const auto raw_type = in.read<uint32_t>(what + " type");
    const auto dtype = dtype_from_ggml(raw_type);
    if (!dtype) {
      throw Error(where_, what + " is " + ggml_type_name(raw_type) + " (ggml type " +
                              std::to_string(raw_type) + "), which this runtime does not read");
    }
    info.dtype = *dtype;
    const int64_t block = dtype_info(info.dtype).block_elems;
    if (ne[0] % block != 0) {  // ne[0] is 1 without dimensions
      throw Error(where_, what + " has rows of " + std::to_string(ne[0]) + " elements, not a " +
                              "multiple of the " + std::to_string(block) + "-element " +
                              std::string(dtype_name(info.dtype)) + " block");
    }
    const auto nbytes = dtype_bytes(info.dtype, numel);
    if (!nbytes) throw Error(where_, what + " is too large");
    info.nbytes = *nbytes;

    const auto offset = in.read<uint64_t>(what + " offset");
    if (offset % alignment_ != 0) {
      throw Error(where_, what + " has offset " + std::to_string(offset) +
                              ", not a multiple of the alignment " + std::to_string(alignment_));
    }
    if (!tensor_index_.emplace(info.name, tensors_.size()).second) {
      throw Error(where_, what + " appears twice");
    }
    relative_offsets.push_back(offset);
    tensors_.push_back(std::move(info));
  }

  // The data section starts at the next multiple of the alignment.
  const uint64_t pad = (alignment_ - in.position() % alignment_) % alignment_;
  data_offset_ = in.position() + pad;
  const uint64_t size = file_->size();
  for (size_t i = 0; i < tensors_.size(); ++i) {
    GgufTensorInfo& info = tensors_[i];
    uint64_t begin = 0;
    uint64_t end = 0;
    if (__builtin_add_overflow(data_offset_, relative_offsets[i], &begin) ||
        __builtin_add_overflow(begin, info.nbytes, &end) || end > size) {
      throw Error(where_, "tensor " + in_quotes(info.name) + " (offset " +
                              std::to_string(relative_offsets[i]) + ", " +
                              std::to_string(info.nbytes) +
                              " bytes) extends past the end of the file");
    }
    info.offset = begin;
  }

  // No two tensors may share bytes.
  std::vector<const GgufTensorInfo*> by_offset;
  by_offset.reserve(tensors_.size());
  for (const GgufTensorInfo& info : tensors_) by_offset.push_back(&info);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const GgufTensorInfo* a, const GgufTensorInfo* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const GgufTensorInfo& prev = *by_offset[i - 1];
    if (prev.nbytes > 0 && by_offset[i]->offset < prev.offset + prev.nbytes) {
      throw Error(where_, "tensors " + in_quotes(prev.name) + " and " +
                              in_quotes(by_offset[i]->name) + " overlap");
    }
  }
}

const GgufValue* GgufFile::find(std::string_view key) const {
  const auto it = metadata_index_.find(std::string(key));
  return it == metadata_index_.end() ? nullptr : &metadata_[it->second].second;
}

const GgufValue& GgufFile::require(std::string_view key) const {
  const GgufValue* value = find(key);
  if (!value) throw Error(where_, "metadata key " + in_quotes(key) + " is missing");
  return *value;
}

void GgufFile::wrong_type(std::string_view key, const GgufValue& value,
                          const char* expected) const {
  throw Error(where_, "metadata key " + in_quotes(key) + " is " + type_text(value) + ", expected " +
                          expected);
}

std::optional<int64_t> GgufFile::find_int(std::string_view key) const {
  const GgufValue* value = find(key);
  if (!value) return std::nullopt;
  const auto result = value->as_int();
  if (!result || value->type == GgufType::kBool) wrong_type(key, *value, "an integer");
  return result;
}

int64_t GgufFile::get_int(std::string_view key) const {
  require(key);
  return *find_int(key);
}

std::optional<double> GgufFile::find_float(std::string_view key) const {
  const GgufValue* value = find(key);
  if (!value) return std::nullopt;
  const auto result = value->as_float();
  if (!result) wrong_type(key, *value, "a float");
  return result;
}

double GgufFile::get_float(std::string_view key) const {
  require(key);
  return *find_float(key);
}

std::optional<bool> GgufFile::find_bool(std::string_view key) const {
  const GgufValue* value = find(key);
  if (!value) return std::nullopt;
  if (value->type != GgufType::kBool) wrong_type(key, *value, "a bool");
  return value->uint_value != 0;
}

std::optional<std::string_view> GgufFile::find_string(std::string_view key) const {
  const GgufValue* value = find(key);
  if (!value) return std::nullopt;
  if (value->type != GgufType::kString) wrong_type(key, *value, "a string");
  return value->string;
}

std::string_view GgufFile::get_string(std::string_view key) const {
  require(key);
  return *find_string(key);
}

std::optional<std::span<const std::string_view>> GgufFile::find_string_array(
    std::string_view key) const {
  const GgufValue* value = find(key);
  if (!value) return std::nullopt;
  if (value->type != GgufType::kArray || value->element_type != GgufType::kString) {
    wrong_type(key, *value, "an array of strings");
  }
  return std::span<const std::string_view>(value->strings);
}

std::optional<std::vector<int64_t>> GgufFile::find_int_array(std::string_view key) const {
  const GgufValue* value = find(key);
  if (!value) return std::nullopt;
  if (value->type != GgufType::kArray || !is_integer(value->element_type) ||
      value->element_type == GgufType::kBool) {
    wrong_type(key, *value, "an array of integers");
  }
  std::vector<int64_t> result;
  result.reserve(value->count);
  for (uint64_t i = 0; i < value->count; ++i) {
    const auto element = value->int_element(i);
    if (!element) {
      throw Error(where_, "metadata key " + in_quotes(key) + " element " + std::to_string(i) +
                              " does not fit in 64 bits");
    }
    result.push_back(*element);
  }
  return result;
}

std::optional<std::vector<float>> GgufFile::find_float_array(std::string_view key) const {
  const GgufValue* value = find(key);
  if (!value) return std::nullopt;
  if (value->type != GgufType::kArray ||
      (value->element_type != GgufType::kFloat32 && value->element_type != GgufType::kInt32)) {
    wrong_type(key, *value, "an array of float32");
  }
  std::vector<float> result(value->count);
  for (uint64_t i = 0; i < value->count; ++i) {
    const std::byte* element = value->elements.data() + i * 4;
    if (value->element_type == GgufType::kFloat32) {
      std::memcpy(&result[i], element, sizeof(float));
    } else {
      int32_t integer;
      std::memcpy(&integer, element, sizeof integer);
      result[i] = static_cast<float>(integer);
    }
  }
  return result;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  const auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

TensorView GgufFile::view(const GgufTensorInfo& tensor) const {
  return TensorView{tensor.dtype, tensor.shape, file_->data() + tensor.offset, tensor.nbytes};
}

std::vector<GgufTensorInfo> read_gguf_tensor_infos(const std::filesystem::path& path) {
  return GgufFile::open(path).tensors();
}

}  // namespace mamba2
