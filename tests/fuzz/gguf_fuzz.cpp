// A GGUF model file as mamba2-chat loads it: load_model (magic check, GgufFile, the mamba2 layout,
// the Model built from the weights), then the Tokenizer from the file's tokenizer.ggml.* keys.
#include <cstddef>
#include <cstdint>

#include "mamba2/error.h"
#include "mamba2/model.h"
#include "mamba2/model_loader.h"
#include "mamba2/tokenizer.h"
#include "tests/fuzz/fuzz_input_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static mamba2::fuzz::FuzzInputFile file("gguf");
  try {
    mamba2::ModelWeights weights = mamba2::load_model_weights(file.write(data, size));
    std::optional<mamba2::TokenizerData> tokenizer = std::move(weights.tokenizer);
    const mamba2::Model model(std::move(weights));
    if (tokenizer) mamba2::Tokenizer(std::move(*tokenizer), "gguf").encode("Hello world");
  } catch (const mamba2::Error&) {
  }
  return 0;
}
