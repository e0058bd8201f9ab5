#include "tests/support/run_binary.h"

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "tests/support/file_bytes.h"
#include "tests/support/test_paths.h"

namespace mamba2::testing {
namespace {

std::string shell_quote(const std::string& arg) {
  std::string quoted = "'";
  for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

}  // namespace

BinaryRun run_binary(const std::string& binary, const std::vector<std::string>& args,
                     const std::string& input) {
  const auto dir = scratch_dir();
  std::ofstream(dir / "in.txt", std::ios::binary) << input;
  std::string command = shell_quote(binary);
  for (const std::string& arg : args) command += " " + shell_quote(arg);
  command += " < " + shell_quote((dir / "in.txt").string());
  command += " > " + shell_quote((dir / "out.txt").string());
  command += " 2> " + shell_quote((dir / "err.txt").string());
  const int status = std::system(command.c_str());
  BinaryRun run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.out = read_bytes(dir / "out.txt");
  run.err = read_bytes(dir / "err.txt");
  return run;
}

}  // namespace mamba2::testing
