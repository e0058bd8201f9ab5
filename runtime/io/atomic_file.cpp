#include "runtime/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "mamba2/error.h"

namespace mamba2 {

AtomicFile::AtomicFile(std::filesystem::path path) : path_(std::move(path)) {
  std::string pattern = path_.string() + ".tmp.XXXXXX";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  fd_ = ::mkstemp(name.data());
  if (fd_ < 0) {
    throw Error(path_.string(), std::string("cannot create a temporary file: ") +
                                    std::strerror(errno));
  }
  temp_path_ = name.data();
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_path_.c_str());
}

void AtomicFile::write(std::span<const std::byte> bytes) {
  const std::byte* cursor = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    const ssize_t done = ::write(fd_, cursor, left);
    if (done < 0 && errno == EINTR) continue;
    if (done <= 0) {
      throw Error(path_.string(), std::string("write failed: ") + std::strerror(errno));
    }
    cursor += done;
    left -= static_cast<size_t>(done);
  }
  written_ += bytes.size();
}

void AtomicFile::write(std::string_view text) {
  write(std::as_bytes(std::span<const char>(text.data(), text.size())));
}

void AtomicFile::write_zeros(uint64_t count) {
  static constexpr std::byte kZeros[4096] = {};
  while (count > 0) {
    const uint64_t step = count < sizeof(kZeros) ? count : sizeof(kZeros);
    write(std::span<const std::byte>(kZeros, step));
    count -= step;
  }
}

void AtomicFile::commit() {
  if (::fsync(fd_) != 0 || ::close(fd_) != 0) {
    fd_ = -1;
    throw Error(path_.string(), std::string("cannot flush: ") + std::strerror(errno));
  }
  fd_ = -1;
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    throw Error(path_.string(), std::string("cannot rename into place: ") + std::strerror(errno));
  }
  committed_ = true;
}

}  // namespace mamba2
