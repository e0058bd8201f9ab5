// A pytorch_model.bin (the torch.save zip and the state-dict pickle inside it), read as a
// checkpoint directory reads it.
#include <cstddef>
#include <cstdint>

#include "mamba2/error.h"
#include "runtime/formats/torch_zip.h"
#include "tests/fuzz/fuzz_input_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static mamba2::fuzz::FuzzInputFile file("torch_bin");
  try {
    mamba2::read_torch_zip(file.write(data, size));
  } catch (const mamba2::Error&) {
  }
  return 0;
}
