// A config.json / params.json in any of the three dialects the checkpoint reader accepts.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mamba2/error.h"
#include "runtime/formats/config_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    mamba2::parse_config_json(std::string_view(reinterpret_cast<const char*>(data), size),
                              "config.json");
  } catch (const mamba2::Error&) {
  }
  return 0;
}
