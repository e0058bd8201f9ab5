// The NeoX tokenizer on arbitrary input. The first byte picks the mode:
//   even: the rest is text; encode it, decode the ids, and check that text decoded from ids is a
//         fixed point (encoding and decoding it again gives it back: it is valid, NFC text);
//   odd:  the rest is a list of u16 ids (one past the vocabulary allowed, to reach the error);
//         decode them at once and through the TokenStreamDecoder, as mamba2-chat prints a reply.
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

namespace {

std::unique_ptr<mamba2::Tokenizer> tokenizer;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* from_env = std::getenv("MAMBA2_FUZZ_TOKENIZER");
  const std::string path = from_env ? from_env : MAMBA2_FUZZ_DEFAULT_TOKENIZER;
  tokenizer = std::make_unique<mamba2::Tokenizer>(mamba2::load_tokenizer_json(path), path);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const char* rest = reinterpret_cast<const char*>(data + 1);
  const size_t rest_size = size - 1;
  try {
    if (data[0] % 2 == 0) {
      const std::string text = tokenizer->decode(tokenizer->encode({rest, rest_size}));
      const std::string again = tokenizer->decode(tokenizer->encode(text));
      if (again != text) {
        std::fprintf(stderr, "decode(encode(t)) != t for t = decode(encode(input))\n");
        std::abort();
      }
    } else {
      std::vector<int32_t> ids(rest_size / 2);
      for (size_t i = 0; i < ids.size(); ++i) {
        uint16_t raw;
        std::memcpy(&raw, rest + 2 * i, 2);
        ids[i] = raw % (tokenizer->size() + 1);
      }
      tokenizer->decode(ids);
      mamba2::TokenStreamDecoder stream(*tokenizer);
      for (int32_t id : ids) stream.push(id);
      stream.flush();
    }
  } catch (const mamba2::Error&) {
  }
  return 0;
}
