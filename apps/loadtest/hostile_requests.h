// The malformed and hostile requests the load test mixes among the good ones: broken JSON,
// fields of the wrong type, limits exceeded, a body over --max-body, a wrong API key, unknown
// paths and methods, bodies cut short and headers left hanging. The server must answer each with
// a 4xx and go on serving everyone else.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "loadtest/raw_http.h"

namespace mamba2::loadtest {

// What the server was started with, so that a request can go just past it.
struct ServerLimits {
  std::string api_key;  // empty: the server needs none (the bad-key requests are left out)
  int64_t max_body = 1 << 20;
  int64_t max_prompt_tokens = 32768;
  int64_t max_tokens = 4096;
  int64_t vocab = 256;  // ids below it are valid
};

struct HostileRequest {
  std::string name;
  std::string bytes;  // the whole request as sent
  RawEnding ending = RawEnding::kWhole;
  // A client that shut its side before the body was whole can get no answer: closing the
  // connection at once (nginx's 499) passes too.
  bool may_close = false;
};

// Every kind once. `stalls` says whether to include the kinds that hold a connection until the
// server's read timeout (5 s in httplib): they test that a slow client costs one connection only.
std::vector<HostileRequest> hostile_requests(const ServerLimits& limits, bool stalls);

}  // namespace mamba2::loadtest
