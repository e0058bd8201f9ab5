// NumPy .npy files of little-endian float32 in C order: the logits and states that
// mamba2-eval writes, and the reference outputs the tests read.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace mamba2 {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;  // numel(shape) elements, row-major
};

// Throws Error naming the file for anything but a '<f4' C-order array of consistent size.
NpyArray read_npy(const std::filesystem::path& path);
// The same from a file's bytes (an .npz member); `where` names it in errors.
NpyArray parse_npy(std::span<const std::byte> bytes, const std::string& where);
// Writes atomically (temporary file + rename).
void write_npy(const std::filesystem::path& path, std::span<const int64_t> shape,
               std::span<const float> data);

}  // namespace mamba2
