// A conversation as JSON messages (mamba2-chat --conversation, mamba2-tokenize --chat): any bytes
// give messages or an Error, and the messages render in every template or are refused with one.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mamba2/chat_template.h"
#include "mamba2/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  try {
    const auto messages = mamba2::parse_chat_messages(json, "fuzz");
    for (const auto kind : {mamba2::ChatTemplateKind::kPlain, mamba2::ChatTemplateKind::kChatml,
                            mamba2::ChatTemplateKind::kMistral}) {
      try {
        (void)mamba2::ChatTemplate(kind, "<s>", "</s>").conversation(messages).str();
      } catch (const mamba2::Error&) {
      }
    }
  } catch (const mamba2::Error&) {
  }
  return 0;
}
