#include "runtime/training/checkpoint.h"

#include <array>
#include <cstring>
#include <fstream>
#include <string>

#include "mamba2/error.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/fnv1a.h"

namespace mamba2::training {
namespace {

constexpr char kMagic[8] = {'M', 'A', 'M', 'B', 'A', '2', 'T', 'R'};
constexpr uint32_t kVersion = 1;
constexpr uint64_t kHeaderBytes = 8 + 4 + 4 + 8 + 8 + 8 + 8;

// The fixed-size header, as written and read.
struct Header {
  uint64_t fingerprint;
  int64_t step;
  uint64_t seed;
  int64_t count;
};
static_assert(sizeof(Header) == kHeaderBytes - 16, "after magic, version and padding");

std::array<std::byte, kHeaderBytes> encode(const Header& header) {
  std::array<std::byte, kHeaderBytes> bytes{};
  std::byte* at = bytes.data();
  auto put = [&](const auto& value) {
    std::memcpy(at, &value, sizeof value);
    at += sizeof value;
  };
  put(kMagic);
  put(kVersion);
  put(uint32_t{0});
  put(header);  // read back whole by read_checkpoint
  return bytes;
}

}  // namespace

uint64_t layout_fingerprint(const ParameterLayout& layout) {
  Fnv1a hash;
  for (const ParameterSlot& slot : layout.slots()) {
    hash.add(slot.name.data(), slot.name.size());
    for (int64_t d : slot.shape) hash.add_value(d);
  }
  return hash.value();
}

// Streams the arrays straight to the file: no second copy of parameters and moments in memory.
void write_checkpoint(const std::filesystem::path& path, const ParameterLayout& layout,
                      const CheckpointState& state) {
  const int64_t count = layout.total();
  for (const std::vector<float>* array : {&state.params, &state.m, &state.v}) {
    if (static_cast<int64_t>(array->size()) != count) {
      throw Error(path.string(), "checkpoint arrays do not match the parameter layout");
    }
  }
  AtomicFile file(path);
  Fnv1a checksum;
  auto emit = [&](const void* data, size_t size) {
    checksum.add(data, size);
    file.write(std::span(static_cast<const std::byte*>(data), size));
  };
  const auto header = encode({layout_fingerprint(layout), state.step, state.seed, count});
  emit(header.data(), header.size());
  for (const std::vector<float>* array : {&state.params, &state.m, &state.v}) {
    emit(array->data(), array->size() * sizeof(float));
  }
  const uint64_t sum = checksum.value();
  file.write(std::as_bytes(std::span(&sum, 1)));
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
  std::ifstream in(path, std::ios::binary);
  Fnv1a checksum;
  auto take = [&](void* data, size_t bytes) {
    if (!in.read(static_cast<char*>(data), std::streamsize(bytes))) {
      throw Error(where, "cannot read checkpoint");
    }
    checksum.add(data, bytes);
  };
  std::array<std::byte, kHeaderBytes> header_bytes;
  take(header_bytes.data(), header_bytes.size());
  if (std::memcmp(header_bytes.data(), kMagic, sizeof kMagic) != 0) {
    throw Error(where, "not a mamba2-train checkpoint");
  }
  uint32_t version;
  std::memcpy(&version, header_bytes.data() + sizeof kMagic, sizeof version);
  if (version != kVersion) throw Error(where, "unsupported checkpoint version");
  Header header;
  std::memcpy(&header, header_bytes.data() + sizeof kMagic + 8, sizeof header);
  if (header.fingerprint != layout_fingerprint(layout)) {
    throw Error(where, "checkpoint is of another model shape");
  }
  if (header.count != static_cast<int64_t>(count) || header.step < 0) {
    throw Error(where, "corrupt checkpoint header");
  }
  CheckpointState state;
  state.step = header.step;
  state.seed = header.seed;
  for (std::vector<float>* array : {&state.params, &state.m, &state.v}) {
    array->resize(count);
    take(array->data(), count * sizeof(float));
  }
  const uint64_t computed = checksum.value();
  uint64_t stored;
  if (!in.read(reinterpret_cast<char*>(&stored), sizeof stored) || stored != computed) {
    throw Error(where, "checkpoint checksum mismatch (the file is damaged)");
  }
  return state;
}

}  // namespace mamba2::training
