// FNV-1a, 64 bit: a tiny, well-known hash for fingerprints and file checksums (not security).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mamba2 {

class Fnv1a {
 public:
  void add(const void* data, size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < size; ++i) hash_ = (hash_ ^ bytes[i]) * 0x100000001b3ull;
  }
  template <class T>
  void add_value(const T& value) {
    add(&value, sizeof value);
  }
  void add_text(std::string_view text) {
    add_value(static_cast<uint64_t>(text.size()));
    add(text.data(), text.size());
  }
  uint64_t value() const { return hash_; }

 private:
  uint64_t hash_ = 0xcbf29ce484222325ull;
};

}  // namespace mamba2
