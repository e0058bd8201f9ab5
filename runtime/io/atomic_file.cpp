#include "runtime/io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include "mamba2/error.h"

namespace mamba2 {
namespace {

// Like mkstemp, but the file gets the mode any new file gets (0666 minus the umask, applied by
// the kernel) where mkstemp's is owner-only.
int create_temporary(const std::filesystem::path& path, std::filesystem::path& temp_path) {
  std::random_device entropy;
  for (int attempt = 0; attempt < 100; ++attempt) {
    char suffix[16];
    std::snprintf(suffix, sizeof(suffix), ".tmp.%08x", static_cast<unsigned>(entropy()));
    temp_path = path.string() + suffix;
    const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  errno = EEXIST;
  return -1;
}

}  // namespace

AtomicFile::AtomicFile(std::filesystem::path path) : path_(std::move(path)) {
  fd_ = create_temporary(path_, temp_path_);
  if (fd_ < 0) {
    throw Error(path_.string(),
                std::string("cannot create a temporary file: ") + std::strerror(errno));
  }
  // A replaced file keeps its mode.
  struct stat existing {};
  if (::stat(path_.c_str(), &existing) == 0) ::fchmod(fd_, existing.st_mode & 07777);
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
