// A GGUF file's SentencePiece vocabulary (tokenizer.ggml.model = "llama": tokens, scores, token
// types) as mamba2-tokenize reads it: load_tokenizer_file (GgufFile, read_gguf_tokenizer), the
// Tokenizer that builds llama.cpp's tables, then encoding with and without parse_special and
// decoding, whole and streamed.
#include <cstddef>
#include <cstdint>

#include "mamba2/error.h"
#include "mamba2/tokenizer.h"
#include "mamba2/tokenizer_file.h"
#include "tests/fuzz/fuzz_input_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static mamba2::fuzz::FuzzInputFile file("spm_vocab_gguf");
  try {
    const mamba2::Tokenizer tokenizer(mamba2::load_tokenizer_file(file.write(data, size)),
                                      "vocab.gguf");
    const std::string text = "Hello world, [INST] <s> <unk> \xE2\x96\x81 \xF0\x9F\xA6\x99\n\xFF";
    for (const auto& ids : {tokenizer.encode(text), tokenizer.encode_special(text)}) {
      tokenizer.decode(ids);
      mamba2::TokenStreamDecoder stream(tokenizer);
      for (const int32_t id : ids) stream.push(id);
      stream.flush();
    }
  } catch (const mamba2::Error&) {
  }
  return 0;
}
