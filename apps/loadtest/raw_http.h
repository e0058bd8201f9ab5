// One HTTP exchange over a plain socket to 127.0.0.1, for requests httplib's client will not
// send: a body shorter than its Content-Length, headers that stop halfway, bytes that are not
// HTTP at all.
#pragma once

#include <chrono>
#include <string>

namespace mamba2::loadtest {

enum class RawEnding {
  kWhole,      // send the bytes, then wait for the reply
  kHalfClose,  // send the bytes, then shut the write side: the server sees the end of input
  kStall,      // send the bytes and keep the connection open: the server's read timeout ends it
};

struct RawReply {
  int status = 0;       // the status line's code; 0 if the server answered nothing
  bool closed = false;  // no status because the server closed the connection
  std::string error;    // why there is no status
};

// Connects to 127.0.0.1:port, sends `bytes`, ends as told, and reads until the server closes or
// `timeout` passes.
RawReply exchange_raw(int port, const std::string& bytes, RawEnding ending,
                      std::chrono::milliseconds timeout);

}  // namespace mamba2::loadtest
