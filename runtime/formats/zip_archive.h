// A zip archive read in place from a memory mapping through libzip: torch.save's files and
// NumPy's .npz. Stored entries can be used where they lie in the mapping; compressed ones are
// inflated into buffers, with sizes checked against what deflate can produce.
#pragma once

#include <zip.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mamba2/error.h"
#include "runtime/io/mapped_file.h"

namespace mamba2 {

// Deflate cannot expand data more than about 1032 times; a larger claimed size is a lie that
// would make us allocate more than the file justifies.
inline constexpr uint64_t kMaxInflateRatio = 1032;

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

class ZipArchive {
 public:
  ZipArchive(std::shared_ptr<const MappedFile> file, std::string where)
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
  ~ZipArchive() {
    if (zip_) zip_discard(zip_);
    zip_error_fini(&source_.error);
  }
  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;

  zip_uint64_t entry_count() const {
    const zip_int64_t count = zip_get_num_entries(zip_, 0);
    return count > 0 ? static_cast<zip_uint64_t>(count) : 0;
  }
  // The entry's name as stored (raw bytes), or empty when libzip has none.
  std::string_view entry_name(zip_uint64_t index) const {
    const char* raw = zip_get_name(zip_, index, ZIP_FL_ENC_RAW);
    return raw ? std::string_view(raw) : std::string_view();
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
    // A claimed size read is allocated before libzip finds the data short: bound it by the
    // bytes the archive has.
    if (st.comp_size > file_->bytes().size()) {
      throw Error(where_, "entry '" + name + "' claims " + std::to_string(st.comp_size) +
                              " compressed bytes, more than the archive's " +
                              std::to_string(file_->bytes().size()));
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

}  // namespace mamba2
