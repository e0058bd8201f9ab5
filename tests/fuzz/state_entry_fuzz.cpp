// A prefix state as mamba2-server reads it back from --state-dir or Redis (apps/server/
// state_entry.h): untrusted bytes that must hold exactly the token ids asked for. The first byte
// says how many ids (0, 1, ... in order) the lookup expects; the rest is the entry's payload,
// which the harness frames with the header and checksum a real entry has so that mutations reach
// the field parser (input that starts with the magic is used unframed). The same bytes are also
// parsed as an entry's key, which a directory listing hands the store.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mamba2/error.h"
#include "runtime/generation/conversation_frame.h"
#include "server/state_entry.h"
#include "tests/fuzz/fuzz_state_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mamba2;
  static const server::StoreIdentity identity{fuzz::kStateFingerprint, fuzz::state_model_config()};
  if (size == 0) return 0;
  std::vector<int32_t> tokens(data[0] % 32);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int32_t>(i);
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string bytes = input.starts_with(kConversationMagic)
                                ? std::string(input)
                                : frame_conversation(input, fuzz::kStateFingerprint);
  try {
    const auto state = server::decode_state_entry(identity, bytes, tokens, "entry");
    if (state->position != static_cast<int64_t>(tokens.size())) __builtin_trap();
  } catch (const Error&) {
  }
  (void)server::key_length(input, fuzz::kStateFingerprint);
  return 0;
}
