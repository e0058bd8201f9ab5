// Whole files as byte strings, for tests that write inputs and read outputs.
#pragma once

#include <filesystem>
#include <string>

namespace mamba2::testing {

// The file's bytes; empty when it does not exist or cannot be read.
std::string read_bytes(const std::filesystem::path& path);
// Replaces the file's contents with `bytes`.
void write_bytes(const std::filesystem::path& path, const std::string& bytes);

}  // namespace mamba2::testing
