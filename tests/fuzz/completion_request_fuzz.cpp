// The body of a completion request, as mamba2-server reads it (apps/server/completion_request.h):
// any bytes give a request or an ApiError, nothing else. The first byte picks the endpoint.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server/api_error.h"
#include "server/completion_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool chat = (data[0] & 1) != 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    mamba2::server::parse_completion_request(body, chat, 4096);
  } catch (const mamba2::server::ApiError&) {
  }
  return 0;
}
