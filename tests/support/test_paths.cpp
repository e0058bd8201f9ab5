#include "tests/support/test_paths.h"

#include <unistd.h>

#include <cstdlib>
#include <string>

namespace mamba2::testing {

std::filesystem::path shared_dir() {
  const char* dir = std::getenv("MAMBA2_SHARED_DIR");
  return dir ? std::filesystem::path(dir) : std::filesystem::path(MAMBA2_DEFAULT_SHARED_DIR);
}

std::filesystem::path fixture_dir(const char* name) { return shared_dir() / "fixtures" / name; }

std::filesystem::path data_dir() { return shared_dir() / "data"; }

std::filesystem::path scratch_dir() {
  static const std::filesystem::path root = [] {
    std::string pattern = (std::filesystem::temp_directory_path() / "mamba2-test-XXXXXX").string();
    const char* made = ::mkdtemp(pattern.data());
    std::filesystem::path path = made ? made : pattern;
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(root, ignored);
    });
    return path;
  }();
  static int counter = 0;
  std::filesystem::path dir = root / std::to_string(counter++);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace mamba2::testing
