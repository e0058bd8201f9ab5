#include "runtime/formats/torch_zip.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>

#include "mamba2/error.h"
#include "runtime/formats/pickle.h"
#include "runtime/formats/zip_archive.h"
#include "runtime/io/mapped_file.h"

namespace mamba2 {
namespace {

constexpr uint64_t kMaxPickleBytes = uint64_t{1} << 30;

// The one entry named "<prefix>/data.pkl"; returns its index and sets `prefix`.
zip_uint64_t find_pickle(const ZipArchive& archive, const std::string& where, std::string& prefix) {
  std::optional<zip_uint64_t> found;
  for (zip_uint64_t i = 0; i < archive.entry_count(); ++i) {
    const std::string_view name = archive.entry_name(i);
    if (name != "data.pkl" && !name.ends_with("/data.pkl")) continue;
    if (found) throw Error(where, "has more than one data.pkl entry");
    found = i;
    prefix = std::string(name.substr(0, name.size() - std::string_view("data.pkl").size()));
  }
  if (!found) throw Error(where, "has no data.pkl entry: not a torch.save archive");
  return *found;
}

}  // namespace

CheckpointTensors read_torch_zip(const std::filesystem::path& path) {
  const std::string where = path.string();
  ZipArchive archive(MappedFile::open(path), where);
  CheckpointTensors result;

  std::string prefix;
  const zip_uint64_t pickle_index = find_pickle(archive, where, prefix);
  const std::string pickle_name = prefix + "data.pkl";
  const zip_stat_t pickle_stat = archive.stat(pickle_index, pickle_name);
  if (pickle_stat.size > kMaxPickleBytes) throw Error(where, "data.pkl is larger than 1 GB");
  const auto pickle = archive.read(pickle_index, pickle_stat.size, pickle_name);
  const auto pickled = parse_state_dict_pickle(pickle, where);

  // Newer torch versions record the byte order of the storages; older ones wrote little-endian.
  if (const auto index = archive.locate(prefix + "byteorder")) {
    const zip_stat_t st = archive.stat(*index, prefix + "byteorder");
    const auto text = archive.read(*index, std::min<uint64_t>(st.size, 16), prefix + "byteorder");
    const std::string order(reinterpret_cast<const char*>(text.data()), text.size());
    if (order != "little") {
      throw Error(where, "storages are stored '" + order + "'-endian; only little-endian is read");
    }
  }

  // Each storage once, however many tensors view it (tied embeddings share one).
  struct StorageBytes {
    DType dtype;
    std::span<const std::byte> bytes;
  };
  std::map<std::string, StorageBytes> storages;
  bool uses_mapping = false;
  for (const PickledTensor& tensor : pickled) {
    const auto element = static_cast<uint64_t>(dtype_info(tensor.dtype).block_bytes);
    auto it = storages.find(tensor.storage_key);
    if (it == storages.end()) {
      const std::string name = prefix + "data/" + tensor.storage_key;
      const auto index = archive.locate(name);
      if (!index)
        throw Error(where, "has no entry '" + name + "' for tensor '" + tensor.name + "'");
      const zip_stat_t st = archive.stat(*index, name);
      uint64_t needed = 0;
      if (__builtin_mul_overflow(static_cast<uint64_t>(tensor.storage_numel), element, &needed) ||
          st.size < needed) {
        throw Error(where, "entry '" + name + "' has " + std::to_string(st.size) +
                               " bytes, fewer than its storage of " +
                               std::to_string(tensor.storage_numel) + " elements needs");
      }
      std::span<const std::byte> bytes;
      std::optional<uint64_t> offset;
      if (st.comp_method == ZIP_CM_STORE && st.comp_size == st.size && needed > 0) {
        offset = archive.stored_offset(*index, needed);
      }
      if (offset) {
        bytes = archive.file()->bytes().subspan(*offset, needed);
        uses_mapping = true;
      } else {
        auto buffer = std::make_shared<std::vector<std::byte>>(archive.read(*index, needed, name));
        bytes = *buffer;
        result.storage.push_back(std::move(buffer));
      }
      it = storages.emplace(tensor.storage_key, StorageBytes{tensor.dtype, bytes}).first;
    }
    const StorageBytes& storage = it->second;
    if (storage.dtype != tensor.dtype) {
      throw Error(where, "storage '" + tensor.storage_key + "' is used with two element types");
    }
    int64_t numel = 1;
    for (int64_t dim : tensor.shape) numel *= dim;  // checked against the storage by the parser
    const auto begin = static_cast<uint64_t>(tensor.storage_offset) * element;
    const auto count = static_cast<uint64_t>(numel) * element;
    if (begin > storage.bytes.size() || count > storage.bytes.size() - begin) {
      throw Error(where, "tensor '" + tensor.name + "' extends past its storage");
    }
    result.tensors.push_back(CheckpointTensor{tensor.name, tensor.dtype, tensor.shape,
                                              storage.bytes.subspan(begin, count)});
  }
  if (uses_mapping) result.storage.push_back(archive.file());
  return result;
}

}  // namespace mamba2
