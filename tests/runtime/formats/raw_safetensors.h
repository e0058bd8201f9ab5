// A safetensors file taken apart into its JSON header and data section, for tests that damage or
// convert a fixture's weights and write them back.
#pragma once

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "tests/runtime/formats/format_test_util.h"

namespace mamba2::testing {

struct RawSafetensors {
  nlohmann::json header;
  std::vector<std::byte> data;

  static RawSafetensors read(const std::filesystem::path& path) {
    const auto bytes = read_bytes(path);
    uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    const auto* text = reinterpret_cast<const char*>(bytes.data() + 8);
    return {nlohmann::json::parse(text, text + n),
            {bytes.begin() + 8 + static_cast<ptrdiff_t>(n), bytes.end()}};
  }

  // `misalign` extra header bytes after the usual padding to 8 shift the data section.
  void write(const std::filesystem::path& path, size_t misalign = 0) const {
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8 + misalign, ' ');
    const uint64_t n = text.size();
    std::vector<std::byte> bytes(8 + text.size());
    std::memcpy(bytes.data(), &n, 8);
    std::memcpy(bytes.data() + 8, text.data(), text.size());
    bytes.insert(bytes.end(), data.begin(), data.end());
    write_bytes(path, bytes);
  }

  std::span<const std::byte> tensor(const std::string& name) const {
    const auto& offsets = header.at(name).at("data_offsets");
    const auto begin = offsets[0].get<size_t>();
    return std::span<const std::byte>(data).subspan(begin, offsets[1].get<size_t>() - begin);
  }
};

}  // namespace mamba2::testing
