// The one exception type of the library. Its message is a single line a user can act on:
// what failed, where (file, tensor, flag), and why. Front ends print it and exit with code 1.
#pragma once

#include <stdexcept>
#include <string>

namespace mamba2 {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  // "where: why", e.g. "model.gguf: tensor 'blk.0.ssm_in.weight' extends past the end of the file".
  Error(const std::string& where, const std::string& why) : std::runtime_error(where + ": " + why) {}
};

}  // namespace mamba2
