#include <string>

#include "mamba2/tokenizer_data.h"
#include "runtime/tokenizer/byte_unicode.h"

namespace mamba2 {

TokenizerData byte_level_tokenizer() {
  TokenizerData data;
  data.model = "gpt2";
  data.pre = "gpt-2";
  for (int byte = 0; byte < 256; ++byte) {
    const char c = static_cast<char>(byte);
    data.tokens.push_back(bytes_to_token_text(std::string_view(&c, 1)));
    data.token_types.push_back(TokenType::kNormal);
  }
  return data;
}

}  // namespace mamba2
