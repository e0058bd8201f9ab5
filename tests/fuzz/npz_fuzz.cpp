// A NumPy .npz (a zip of .npy members), as a mamba2-jax directory's params.npz is read.
#include <cstddef>
#include <cstdint>

#include "mamba2/error.h"
#include "runtime/formats/npz.h"
#include "tests/fuzz/fuzz_input_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static mamba2::fuzz::FuzzInputFile file("npz");
  try {
    mamba2::read_npz(file.write(data, size));
  } catch (const mamba2::Error&) {
  }
  return 0;
}
