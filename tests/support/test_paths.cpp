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

namespace {

// Owns the process's scratch root and removes it when static objects are destroyed. (An atexit
// handler registered while the root was being constructed ran after its destructor, so it
// removed nothing and every test process left a directory in /tmp.)
struct ScratchRoot {
  std::filesystem::path path;
  ScratchRoot() {
    std::string pattern = (std::filesystem::temp_directory_path() / "mamba2-test-XXXXXX").string();
    const char* made = ::mkdtemp(pattern.data());
    path = made ? made : pattern;
  }
  ~ScratchRoot() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

}  // namespace

std::filesystem::path scratch_dir() {
  static const ScratchRoot root;
  static int counter = 0;
  std::filesystem::path dir = root.path / std::to_string(counter++);
  std::filesystem::create_directories(dir);
  return dir;
}

FreshTimedChoices::FreshTimedChoices() {
  if (const char* value = std::getenv("MAMBA2_CACHE_DIR")) before_ = value;
  ::setenv("MAMBA2_CACHE_DIR", scratch_dir().c_str(), 1);
}

FreshTimedChoices::~FreshTimedChoices() {
  if (before_) {
    ::setenv("MAMBA2_CACHE_DIR", before_->c_str(), 1);
  } else {
    ::unsetenv("MAMBA2_CACHE_DIR");
  }
}

}  // namespace mamba2::testing
