#include "runtime/io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "mamba2/error.h"

namespace mamba2 {

std::shared_ptr<const MappedFile> MappedFile::open(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path.string(), std::string("cannot open: ") + std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    throw Error(path.string(), "not a regular file");
  }
  const auto size = static_cast<uint64_t>(info.st_size);
  const std::byte* data = nullptr;
  if (size > 0) {
    void* mapping = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (mapping == MAP_FAILED) {
      const int saved = errno;
      ::close(fd);
      throw Error(path.string(), std::string("cannot map: ") + std::strerror(saved));
    }
    data = static_cast<const std::byte*>(mapping);
  }
  ::close(fd);
  return std::shared_ptr<const MappedFile>(new MappedFile(path, data, size));
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<std::byte*>(data_), size_);
}

namespace {

// A byte range rounded to whole pages: `outer` covers every page the range touches, the inner
// range only the pages it fills.
struct PageRange {
  uintptr_t first;
  uintptr_t last;

  static PageRange outer(const void* data, uint64_t bytes) {
    const uintptr_t page = page_size(), begin = reinterpret_cast<uintptr_t>(data);
    return {begin / page * page, (begin + bytes + page - 1) / page * page};
  }
  static PageRange inner(const void* data, uint64_t bytes) {
    const uintptr_t page = page_size(), begin = reinterpret_cast<uintptr_t>(data);
    return {(begin + page - 1) / page * page, (begin + bytes) / page * page};
  }
  static uintptr_t page_size() { return static_cast<uintptr_t>(sysconf(_SC_PAGESIZE)); }

  bool empty() const { return first >= last; }
  void* address() const { return reinterpret_cast<void*>(first); }
  size_t bytes() const { return last - first; }
};

}  // namespace

void release_resident_pages(const void* data, uint64_t bytes) {
  // Only whole pages: a page the range shares with its neighbours may hold their live data.
  const PageRange pages = PageRange::inner(data, bytes);
  if (!pages.empty()) madvise(pages.address(), pages.bytes(), MADV_PAGEOUT);
}

bool make_pages_writable(const void* data, uint64_t bytes) {
  const PageRange pages = PageRange::outer(data, bytes);
  if (mprotect(pages.address(), pages.bytes(), PROT_READ | PROT_WRITE) != 0) return false;
  populate_pages(data, bytes);
  return true;
}

void populate_pages(const void* data, uint64_t bytes) {
  const PageRange pages = PageRange::outer(data, bytes);
  // A kernel older than 5.14 refuses the advice, and the writes fault as before.
  madvise(pages.address(), pages.bytes(), MADV_POPULATE_WRITE);
}

}  // namespace mamba2
