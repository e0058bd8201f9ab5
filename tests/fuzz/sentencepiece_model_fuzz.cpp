// A SentencePiece .model file as mamba2-tokenize, mamba2-quantize --tokenizer and the checkpoint
// reader load it: load_tokenizer_file (the wire-format walk, then the library), the Tokenizer
// that checks the vocabulary against the model, then one encode and decode.
#include <cstddef>
#include <cstdint>

#include "mamba2/error.h"
#include "mamba2/tokenizer.h"
#include "mamba2/tokenizer_file.h"
#include "tests/fuzz/fuzz_input_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static mamba2::fuzz::FuzzInputFile file("sentencepiece_model");
  try {
    const mamba2::Tokenizer tokenizer(mamba2::load_tokenizer_file(file.write(data, size)),
                                      "tokenizer.model");
    tokenizer.decode(tokenizer.encode("Hello world, [INST] <s> \xE2\x96\x81 \xF0\x9F\xA6\x99\n"));
    tokenizer.encode_special("[INST] Hi[/INST]");
  } catch (const mamba2::Error&) {
  }
  return 0;
}
