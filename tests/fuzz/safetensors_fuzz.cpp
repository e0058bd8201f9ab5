// A model.safetensors file, read as a checkpoint directory reads it.
#include <cstddef>
#include <cstdint>

#include "mamba2/error.h"
#include "runtime/formats/safetensors.h"
#include "tests/fuzz/fuzz_input_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static mamba2::fuzz::FuzzInputFile file("safetensors");
  try {
    mamba2::read_safetensors(file.write(data, size));
  } catch (const mamba2::Error&) {
  }
  return 0;
}
