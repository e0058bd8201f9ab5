// A tokenizer.json as mamba2-tokenize and the checkpoint reader load it: load_tokenizer_json,
// then the Tokenizer that validates the data and builds its tables, then one encode and decode.
#include <cstddef>
#include <cstdint>

#include "mamba2/error.h"
#include "mamba2/tokenizer.h"
#include "tests/fuzz/fuzz_input_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static mamba2::fuzz::FuzzInputFile file("tokenizer_json");
  try {
    const mamba2::Tokenizer tokenizer(mamba2::load_tokenizer_json(file.write(data, size)),
                                      "tokenizer.json");
    tokenizer.decode(tokenizer.encode("Hello world, <|endoftext|>  ½ 😀"));
  } catch (const mamba2::Error&) {
  }
  return 0;
}
