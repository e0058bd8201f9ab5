// Writes a file under a temporary name beside its destination and renames it into place on
// commit(), so a reader never sees a half-written file and an existing file survives a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

namespace mamba2 {

class AtomicFile {
 public:
  // Creates "<path>.tmp.XXXXXX" in the destination's directory. Throws Error on failure.
  explicit AtomicFile(std::filesystem::path path);
  // Removes the temporary file unless commit() succeeded.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(std::span<const std::byte> bytes);
  void write(std::string_view text);
  void write_zeros(uint64_t count);
  uint64_t bytes_written() const { return written_; }
  // Flushes to disk and renames over the destination.
  void commit();

 private:
  std::filesystem::path path_;
  std::filesystem::path temp_path_;
  int fd_ = -1;
  uint64_t written_ = 0;
  bool committed_ = false;
};

}  // namespace mamba2
