// Mistral's SentencePiece tokenizer on arbitrary input, both ways it reaches us: the .model file
// (the SentencePiece library) and the vocabulary GGUF (our llama.cpp SPM algorithm). The first
// byte picks the mode:
//   bit 0: 0 the .model file, 1 the GGUF;
//   bit 1: 0 the rest is text: encode it (bit 2: with parse_special), decode the ids, and check
//          that valid UTF-8 without ▁ comes back (without parse_special);
//          1 the rest is u16 ids (one past the vocabulary allowed, to reach the error): decode
//          them whole and through the TokenStreamDecoder, which on the GGUF path must give the
//          whole decoding with ill-formed bytes as U+FFFD.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "mamba2/error.h"
#include "mamba2/tokenizer.h"
#include "mamba2/tokenizer_file.h"
#include "runtime/tokenizer/utf8.h"

namespace {

std::unique_ptr<mamba2::Tokenizer> tokenizers[2];

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "%s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* from_env = std::getenv("MAMBA2_FUZZ_DATA_DIR");
  const std::string dir = from_env ? from_env : MAMBA2_FUZZ_DEFAULT_DATA_DIR;
  tokenizers[0] = std::make_unique<mamba2::Tokenizer>(
      mamba2::load_tokenizer_file(dir + "/mistral-v3-tokenizer.model"));
  tokenizers[1] = std::make_unique<mamba2::Tokenizer>(
      mamba2::load_tokenizer_file(dir + "/mistral-v3-vocab.gguf"));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool gguf = (data[0] & 1) != 0;
  const bool ids_mode = (data[0] & 2) != 0;
  const bool special = (data[0] & 4) != 0;
  const mamba2::Tokenizer& tokenizer = *tokenizers[gguf ? 1 : 0];
  const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    if (!ids_mode) {
      const std::vector<int32_t> ids =
          special ? tokenizer.encode_special(rest) : tokenizer.encode(rest);
      const std::string text = tokenizer.decode(ids);
      // Ill-formed UTF-8 does not come back: the library reads it as U+FFFD, and llama.cpp cuts
      // characters by their lead byte alone, so a stray lead byte can swallow part of a ▁.
      const bool exact = rest.find("\xE2\x96\x81") == std::string::npos && !special &&
                         mamba2::utf8::is_valid(rest);
      if (exact && text != rest) fail("decode(encode(t)) != t");
    } else {
      std::vector<int32_t> ids(rest.size() / 2);
      for (size_t i = 0; i < ids.size(); ++i) {
        uint16_t raw;
        std::memcpy(&raw, rest.data() + 2 * i, 2);
        ids[i] = raw % (tokenizer.size() + 1);
      }
      const std::string whole = tokenizer.decode(ids);
      mamba2::TokenStreamDecoder stream(tokenizer);
      std::string streamed;
      for (int32_t id : ids) streamed += stream.push(id);
      streamed += stream.flush();
      if (gguf && streamed != mamba2::utf8::replace_invalid(whole)) {
        fail("the streamed text differs from the whole decoding");
      }
    }
  } catch (const mamba2::Error&) {
  }
  return 0;
}
