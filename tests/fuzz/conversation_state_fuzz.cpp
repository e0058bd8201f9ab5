// A saved conversation, as mamba2-chat's /load reads it. The input is the payload: the harness
// frames it with the header and the checksum a real file has, so mutations reach the field
// parser instead of dying at the checksum. Inputs that start with the magic are used unframed, so
// the header checks run too.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "mamba2/conversation_state.h"
#include "mamba2/error.h"
#include "runtime/io/fnv1a.h"
#include "tests/fuzz/fuzz_input_file.h"
#include "tests/fuzz/fuzz_state_model.h"

namespace {

template <class T>
void put(std::string& out, const T& value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

std::string framed(const uint8_t* payload, size_t size) {
  std::string file("MAMBA2CV");
  put(file, uint32_t{1});
  put(file, uint32_t{0});
  put(file, mamba2::fuzz::kStateFingerprint);
  put(file, static_cast<uint64_t>(size));
  file.append(reinterpret_cast<const char*>(payload), size);
  mamba2::Fnv1a checksum;
  checksum.add(file.data(), file.size());
  put(file, checksum.value());
  return file;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static mamba2::fuzz::FuzzInputFile file("conversation_state");
  static const mamba2::ModelConfig config = mamba2::fuzz::state_model_config();
  const bool raw = size >= 8 && std::memcmp(data, "MAMBA2CV", 8) == 0;
  const std::string bytes =
      raw ? std::string(reinterpret_cast<const char*>(data), size) : framed(data, size);
  try {
    mamba2::load_conversation(file.write(bytes.data(), bytes.size()),
                              mamba2::fuzz::kStateFingerprint, config);
  } catch (const mamba2::Error&) {
  }
  return 0;
}
