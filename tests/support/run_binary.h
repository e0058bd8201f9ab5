// Runs one of our real binaries the way a user would, capturing exit code, stdout and stderr.
#pragma once

#include <string>
#include <vector>

namespace mamba2::testing {

struct BinaryRun {
  int exit_code = -1;  // -1 when the process did not exit normally (a crash or signal)
  std::string out;
  std::string err;
};

// `input` is fed on stdin (empty: /dev/null).
BinaryRun run_binary(const std::string& binary, const std::vector<std::string>& args,
                     const std::string& input = "");

}  // namespace mamba2::testing
