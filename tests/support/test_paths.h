// Where tests find the shared reference fixtures and data (../shared beside the repository).
#pragma once

#include <filesystem>

namespace mamba2::testing {

// $MAMBA2_SHARED_DIR if set, else the shared directory configured at build time.
std::filesystem::path shared_dir();
std::filesystem::path fixture_dir(const char* name);  // shared/fixtures/<name>
std::filesystem::path data_dir();                     // shared/data
// A fresh empty directory for one test's outputs, removed at process exit.
std::filesystem::path scratch_dir();

}  // namespace mamba2::testing
