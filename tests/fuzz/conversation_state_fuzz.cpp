// A saved conversation, as mamba2-chat's /load reads it. The input is the payload: the harness
// frames it with the header and the checksum a real file has, so mutations reach the field
// parser instead of dying at the checksum. Inputs that start with the magic are used unframed, so
// the header checks run too.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mamba2/conversation_state.h"
#include "mamba2/error.h"
#include "runtime/generation/conversation_frame.h"
#include "tests/fuzz/fuzz_input_file.h"
#include "tests/fuzz/fuzz_state_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static mamba2::fuzz::FuzzInputFile file("conversation_state");
  static const mamba2::ModelConfig config = mamba2::fuzz::state_model_config();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const bool raw = input.starts_with(mamba2::kConversationMagic);
  const std::string bytes =
      raw ? std::string(input) : mamba2::frame_conversation(input, mamba2::fuzz::kStateFingerprint);
  try {
    mamba2::load_conversation(file.write(bytes.data(), bytes.size()),
                              mamba2::fuzz::kStateFingerprint, config);
  } catch (const mamba2::Error&) {
  }
  return 0;
}
