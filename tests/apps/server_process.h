// A real mamba2-server on 127.0.0.1 and a free port, for the length of a test: started with the
// flags given, its port read from its "listening on" line, stopped with SIGTERM (SIGKILL if it
// does not end within seconds).
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <string>
#include <vector>

#include "tests/apps/child_process.h"

namespace mamba2::testing {

class ServerProcess {
 public:
  explicit ServerProcess(std::vector<std::string> args) {
    args.insert(args.begin(), MAMBA2_SERVER_BIN);
    args.insert(args.end(), {"--host", "127.0.0.1", "--port", "0"});
    process_ = ChildProcess(std::move(args));
    const std::string port =
        process_.wait_for("listening on http://127.0.0.1:", std::chrono::seconds(60));
    if (port.empty()) {
      ADD_FAILURE() << "the server did not start: " << process_.err();
      return;
    }
    port_ = std::stoi(port);
  }

  int port() const { return port_; }
  const std::string& err() const { return process_.err(); }
  httplib::Client client() const {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(60, 0);
    return client;
  }

  // SIGTERM, then the exit status (-1 if it had to be killed or did not exit normally).
  int stop() { return process_.stop(); }

 private:
  ChildProcess process_;
  int port_ = 0;
};

}  // namespace mamba2::testing
