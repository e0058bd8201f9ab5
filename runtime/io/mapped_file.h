// A read-only memory mapping of a whole file. Weights are used in place from the mapping, so a
// model loads in the time it takes to check its headers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>

namespace mamba2 {

class MappedFile {
 public:
  // Maps `path`; throws Error naming the path if it cannot be opened or mapped.
  static std::shared_ptr<const MappedFile> open(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  const std::byte* data() const { return data_; }
  uint64_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  MappedFile(std::filesystem::path path, const std::byte* data, uint64_t size)
      : path_(std::move(path)), data_(data), size_(size) {}
  std::filesystem::path path_;
  const std::byte* data_;
  uint64_t size_;
};

// Asks the kernel to take the whole pages inside [data, data + bytes) out of this process's
// resident memory (MADV_PAGEOUT), for weights read once and then used only from a copy: a mapped
// file's pages are read again if touched, anonymous ones go to swap or stay. Contents never
// change, so this is safe on any memory; where the kernel refuses, nothing happens.
void release_resident_pages(const void* data, uint64_t bytes);

// Lets this process write the whole pages around [data, data + bytes): on a private mapping of a
// file (MappedFile's) a write then copies the page for this process alone and leaves the file
// as it is; the copies are made at once (MADV_POPULATE_WRITE where the kernel has it). For
// weights rearranged in place at load, held by nobody else. False where the kernel refuses.
bool make_pages_writable(const void* data, uint64_t bytes);

// Makes the whole pages around [data, data + bytes) present and writable now, in one call
// (MADV_POPULATE_WRITE), rather than by a fault per page as they are first written: on a VM each
// fault is costly, and where other threads run, a fault on a page already read swaps its entry
// and flushes their TLBs too (130m bf16 load on a 2-vCPU VM: 2.2 s, mostly that, -> 0.5 s). For
// memory about to be written whole; a kernel older than 5.14 ignores it.
void populate_pages(const void* data, uint64_t bytes);

}  // namespace mamba2
