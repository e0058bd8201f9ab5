#include "runtime/training/checkpoint.h"

#include <cstring>
#include <fstream>
#include <string>

#include "mamba2/error.h"
#include "runtime/io/atomic_file.h"

namespace mamba2::training {
namespace {

constexpr char kMagic[8] = {'M', 'A', 'M', 'B', 'A', '2', 'T', 'R'};
constexpr uint32_t kVersion = 1;
constexpr uint64_t kHeaderBytes = 8 + 4 + 4 + 8 + 8 + 8 + 8;

uint64_t fnv1a(const void* data, size_t size, uint64_t hash = 0xcbf29ce484222325ULL) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) hash = (hash ^ bytes[i]) * 0x100000001b3ULL;
  return hash;
}

template <class V>
void put(std::vector<std::byte>& out, V value) {
  const auto* bytes = reinterpret_cast<const std::byte*>(&value);
  out.insert(out.end(), bytes, bytes + sizeof(V));
}

template <class V>
V get(const std::vector<std::byte>& in, size_t& at) {
  V value;
  std::memcpy(&value, in.data() + at, sizeof(V));
  at += sizeof(V);
  return value;
}

}  // namespace

uint64_t layout_fingerprint(const ParameterLayout& layout) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (const ParameterSlot& slot : layout.slots()) {
    hash = fnv1a(slot.name.data(), slot.name.size(), hash);
    for (int64_t d : slot.shape) hash = fnv1a(&d, sizeof d, hash);
  }
  return hash;
}

void write_checkpoint(const std::filesystem::path& path, const ParameterLayout& layout,
                      const CheckpointState& state) {
  const int64_t count = layout.total();
  for (const std::vector<float>* array : {&state.params, &state.m, &state.v}) {
    if (static_cast<int64_t>(array->size()) != count) {
      throw Error(path.string(), "checkpoint arrays do not match the parameter layout");
    }
  }
  std::vector<std::byte> bytes;
  bytes.reserve(kHeaderBytes + 3 * count * sizeof(float) + 8);
  for (char c : kMagic) bytes.push_back(std::byte(c));
  put(bytes, kVersion);
  put(bytes, uint32_t{0});
  put(bytes, layout_fingerprint(layout));
  put(bytes, state.step);
  put(bytes, state.seed);
  put(bytes, count);
  for (const std::vector<float>* array : {&state.params, &state.m, &state.v}) {
    const auto* data = reinterpret_cast<const std::byte*>(array->data());
    bytes.insert(bytes.end(), data, data + array->size() * sizeof(float));
  }
  put(bytes, fnv1a(bytes.data(), bytes.size()));
  AtomicFile file(path);
  file.write(bytes);
  file.commit();
}

CheckpointState read_checkpoint(const std::filesystem::path& path, const ParameterLayout& layout) {
  const std::string where = path.string();
  std::error_code error;
  const uint64_t size = std::filesystem::file_size(path, error);
  if (error) throw Error(where, "cannot read checkpoint: " + error.message());
  const uint64_t count = static_cast<uint64_t>(layout.total());
  // Compared before anything is allocated: a checkpoint of this layout has exactly this size.
  const uint64_t expected = kHeaderBytes + 3 * count * sizeof(float) + 8;
  if (size != expected) {
    throw Error(where, "checkpoint is " + std::to_string(size) + " bytes; one for this model is " +
                           std::to_string(expected));
  }
  std::vector<std::byte> bytes(size);
  std::ifstream in(path, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(size))) {
    throw Error(where, "cannot read checkpoint");
  }
  if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    throw Error(where, "not a mamba2-train checkpoint");
  }
  size_t at = sizeof kMagic;
  if (get<uint32_t>(bytes, at) != kVersion) throw Error(where, "unsupported checkpoint version");
  at += 4;
  if (get<uint64_t>(bytes, at) != layout_fingerprint(layout)) {
    throw Error(where, "checkpoint is of another model shape");
  }
  CheckpointState state;
  state.step = get<int64_t>(bytes, at);
  state.seed = get<uint64_t>(bytes, at);
  if (get<int64_t>(bytes, at) != static_cast<int64_t>(count) || state.step < 0) {
    throw Error(where, "corrupt checkpoint header");
  }
  size_t checked = size - 8;
  size_t sum_at = checked;
  if (get<uint64_t>(bytes, sum_at) != fnv1a(bytes.data(), checked)) {
    throw Error(where, "checkpoint checksum mismatch (the file is damaged)");
  }
  for (std::vector<float>* array : {&state.params, &state.m, &state.v}) {
    array->resize(count);
    std::memcpy(array->data(), bytes.data() + at, count * sizeof(float));
    at += count * sizeof(float);
  }
  return state;
}

}  // namespace mamba2::training
