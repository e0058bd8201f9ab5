// Where tests find the shared reference fixtures and data (../shared beside the repository).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace mamba2::testing {

// $MAMBA2_SHARED_DIR if set, else the shared directory configured at build time.
std::filesystem::path shared_dir();
std::filesystem::path fixture_dir(const char* name);  // shared/fixtures/<name>
std::filesystem::path data_dir();                     // shared/data
// A fresh empty directory for one test's outputs, removed at process exit.
std::filesystem::path scratch_dir();

// For its life, timed choices (runtime/io/timed_choices.h) go to a fresh file of their own: the
// test sees none that earlier runs recorded. Not for tests whose threads read the environment.
class FreshTimedChoices {
 public:
  FreshTimedChoices();
  ~FreshTimedChoices();
  FreshTimedChoices(const FreshTimedChoices&) = delete;
  FreshTimedChoices& operator=(const FreshTimedChoices&) = delete;

 private:
  std::optional<std::string> before_;
};

}  // namespace mamba2::testing
