// Builds GGUF files byte by byte, so tests can write exactly the (broken) file they mean.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace mamba2::testing {

class GgufBytes {
 public:
  template <class T>
  GgufBytes& put(T value) {
    const auto* bytes = reinterpret_cast<const std::byte*>(&value);
    data.insert(data.end(), bytes, bytes + sizeof value);
    return *this;
  }
  GgufBytes& u32(uint32_t v) { return put(v); }
  GgufBytes& u64(uint64_t v) { return put(v); }
  GgufBytes& i64(int64_t v) { return put(v); }
  GgufBytes& str(std::string_view text) {
    u64(text.size());
    const auto* bytes = reinterpret_cast<const std::byte*>(text.data());
    data.insert(data.end(), bytes, bytes + text.size());
    return *this;
  }
  // Magic, version and the two counts.
  GgufBytes& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    return u32(0x46554747).u32(version).u64(n_tensors).u64(n_kv);
  }
  GgufBytes& kv_u32(std::string_view key, uint32_t v) { return str(key).u32(4).u32(v); }
  GgufBytes& kv_str(std::string_view key, std::string_view v) { return str(key).u32(8).str(v); }
  // name, ne (innermost first), ggml type, offset.
  GgufBytes& tensor(std::string_view name, std::vector<int64_t> ne, uint32_t type,
                    uint64_t offset) {
    str(name).u32(static_cast<uint32_t>(ne.size()));
    for (int64_t n : ne) i64(n);
    return u32(type).u64(offset);
  }
  GgufBytes& pad_to(size_t alignment) {
    while (data.size() % alignment != 0) data.push_back(std::byte{0});
    return *this;
  }
  GgufBytes& zeros(size_t count) {
    data.insert(data.end(), count, std::byte{0});
    return *this;
  }
  std::filesystem::path save(const std::filesystem::path& path) const {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data.data()),
              static_cast<std::streamsize>(data.size()));
    return path;
  }

  std::vector<std::byte> data;
};

}  // namespace mamba2::testing
