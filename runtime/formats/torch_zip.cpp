#include "runtime/formats/torch_zip.h"

#include <zip.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>

#include "mamba2/error.h"
#include "runtime/formats/pickle.h"
#include "runtime/io/mapped_file.h"

namespace mamba2 {
namespace {

// Deflate cannot expand data more than about 1032 times; a larger claimed size is a lie that
// would make us allocate more than the file justifies.
constexpr uint64_t kMaxInflateRatio = 1032;
constexpr uint64_t kMaxPickleBytes = uint64_t{1} << 30;

// libzip reads the archive through this source, straight from our mapping. It also tells us
// where an entry's bytes start: libzip has no call for an entry's data offset, but the first
// read it makes for an opened stored entry is at that offset, which we then verify.
struct MappedSource {
  std::span<const std::byte> bytes;
  uint64_t pos = 0;
  zip_error_t error{};
  bool recording = false;
  std::optional<uint64_t> first_read;

  static zip_int64_t callback(void* user, void* data, zip_uint64_t len, zip_source_cmd_t cmd) {
    auto& self = *static_cast<MappedSource*>(user);
    switch (cmd) {
      case ZIP_SOURCE_OPEN:
        self.pos = 0;
        return 0;
      case ZIP_SOURCE_READ: {
        if (self.recording && !self.first_read) self.first_read = self.pos;
        const uint64_t left = self.pos < self.bytes.size() ? self.bytes.size() - self.pos : 0;
        const uint64_t n = std::min<uint64_t>(len, left);
        if (n > 0) std::memcpy(data, self.bytes.data() + self.pos, n);
        self.pos += n;
        return static_cast<zip_int64_t>(n);
      }
      case ZIP_SOURCE_CLOSE:
      case ZIP_SOURCE_FREE:
        return 0;
      case ZIP_SOURCE_STAT: {
        if (len < sizeof(zip_stat_t)) return -1;
        auto* stat = static_cast<zip_stat_t*>(data);
        zip_stat_init(stat);
        stat->size = self.bytes.size();
        stat->valid |= ZIP_STAT_SIZE;
        return sizeof(zip_stat_t);
      }
      case ZIP_SOURCE_ERROR:
        return zip_error_to_data(&self.error, data, len);
      case ZIP_SOURCE_SEEK: {
        const zip_int64_t to =
            zip_source_seek_compute_offset(self.pos, self.bytes.size(), data, len, &self.error);
        if (to < 0) return -1;
        self.pos = static_cast<uint64_t>(to);
        return 0;
      }
      case ZIP_SOURCE_TELL:
        return static_cast<zip_int64_t>(self.pos);
      case ZIP_SOURCE_SUPPORTS:
        return zip_source_make_command_bitmap(
            ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE, ZIP_SOURCE_STAT, ZIP_SOURCE_ERROR,
            ZIP_SOURCE_FREE, ZIP_SOURCE_SEEK, ZIP_SOURCE_TELL, ZIP_SOURCE_SUPPORTS, -1);
      default:
        zip_error_set(&self.error, ZIP_ER_OPNOTSUPP, 0);
        return -1;
    }
  }
};

class Archive {
 public:
  Archive(std::shared_ptr<const MappedFile> file, std::string where)
      : file_(std::move(file)), where_(std::move(where)) {
    source_.bytes = file_->bytes();
    zip_error_init(&source_.error);
    zip_error_t error;
    zip_error_init(&error);
    zip_source_t* source = zip_source_function_create(&MappedSource::callback, &source_, &error);
    if (!source) fail_with(error);
    zip_ = zip_open_from_source(source, ZIP_RDONLY, &error);
    if (!zip_) {
      zip_source_free(source);
      fail_with(error);
    }
  }
  ~Archive() {
    if (zip_) zip_discard(zip_);
    zip_error_fini(&source_.error);
  }
  Archive(const Archive&) = delete;
  Archive& operator=(const Archive&) = delete;

  // The one entry named "<prefix>/data.pkl"; returns its index and sets `prefix`.
  zip_uint64_t find_pickle(std::string& prefix) {
    const zip_int64_t count = zip_get_num_entries(zip_, 0);
    std::optional<zip_uint64_t> found;
    for (zip_int64_t i = 0; i < count; ++i) {
      const char* raw = zip_get_name(zip_, static_cast<zip_uint64_t>(i), ZIP_FL_ENC_RAW);
      if (!raw) continue;
      const std::string_view name(raw);
      if (name != "data.pkl" && !name.ends_with("/data.pkl")) continue;
      if (found) throw Error(where_, "has more than one data.pkl entry");
      found = static_cast<zip_uint64_t>(i);
      prefix = std::string(name.substr(0, name.size() - std::string_view("data.pkl").size()));
    }
    if (!found) throw Error(where_, "has no data.pkl entry: not a torch.save archive");
    return *found;
  }

  std::optional<zip_uint64_t> locate(const std::string& name) {
    const zip_int64_t index = zip_name_locate(zip_, name.c_str(), ZIP_FL_ENC_RAW);
    if (index < 0) return std::nullopt;
    return static_cast<zip_uint64_t>(index);
  }

  zip_stat_t stat(zip_uint64_t index, const std::string& name) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(zip_, index, 0, &st) != 0) fail_with(zip_get_error(zip_));
    const zip_uint64_t needed = ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD;
    if ((st.valid & needed) != needed) throw Error(where_, "entry '" + name + "' has no sizes");
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE) {
      throw Error(where_, "entry '" + name + "' is encrypted");
    }
    if (st.size > 4096 && (st.size - 4096) / kMaxInflateRatio > st.comp_size) {
      throw Error(where_, "entry '" + name + "' claims an impossible compression ratio");
    }
    return st;
  }

  // The first `size` bytes of an entry, read (and inflated) into a buffer.
  std::vector<std::byte> read(zip_uint64_t index, uint64_t size, const std::string& name) {
    std::vector<std::byte> buffer(size);
    zip_file_t* entry = zip_fopen_index(zip_, index, 0);
    if (!entry) fail_with(zip_get_error(zip_));
    uint64_t done = 0;
    while (done < size) {
      const zip_int64_t n = zip_fread(entry, buffer.data() + done, size - done);
      if (n <= 0) {
        const std::string why = n < 0 ? zip_file_strerror(entry) : "unexpected end of entry";
        zip_fclose(entry);
        throw Error(where_, "cannot read entry '" + name + "': " + why);
      }
      done += static_cast<uint64_t>(n);
    }
    zip_fclose(entry);
    return buffer;
  }

  // Where a stored entry's bytes sit in the file, or nullopt if libzip did not reveal it.
  std::optional<uint64_t> stored_offset(zip_uint64_t index, uint64_t size) {
    zip_file_t* entry = zip_fopen_index(zip_, index, 0);
    if (!entry) fail_with(zip_get_error(zip_));
    std::byte probe[64];
    const uint64_t want = std::min<uint64_t>(size, sizeof probe);
    source_.recording = true;
    source_.first_read.reset();
    const zip_int64_t got = zip_fread(entry, probe, want);
    source_.recording = false;
    zip_fclose(entry);
    const auto offset = source_.first_read;
    const auto bytes = file_->bytes();
    if (got != static_cast<zip_int64_t>(want) || !offset || *offset > bytes.size() ||
        size > bytes.size() - *offset ||
        std::memcmp(bytes.data() + *offset, probe, static_cast<size_t>(want)) != 0) {
      return std::nullopt;
    }
    return offset;
  }

  const std::shared_ptr<const MappedFile>& file() const { return file_; }

 private:
  [[noreturn]] void fail_with(zip_error_t* error) {
    throw Error(where_, std::string("not a readable zip archive: ") + zip_error_strerror(error));
  }
  [[noreturn]] void fail_with(zip_error_t& error) {
    const std::string why = zip_error_strerror(&error);
    zip_error_fini(&error);
    throw Error(where_, "not a readable zip archive: " + why);
  }

  std::shared_ptr<const MappedFile> file_;
  std::string where_;
  MappedSource source_;
  zip_t* zip_ = nullptr;
};

}  // namespace

CheckpointTensors read_torch_zip(const std::filesystem::path& path) {
  const std::string where = path.string();
  Archive archive(MappedFile::open(path), where);
  CheckpointTensors result;

  std::string prefix;
  const zip_uint64_t pickle_index = archive.find_pickle(prefix);
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
