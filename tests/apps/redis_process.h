// A throwaway redis-server for a test: 127.0.0.1, a free port, no persistence, its working
// directory a fresh temporary one; stopped (and the directory removed) with the object.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "tests/apps/child_process.h"

namespace mamba2::testing {

class RedisProcess {
 public:
  // The reason to skip a test that needs Redis, or empty if redis-server is installed.
  static std::string missing() {
    return find_program("redis-server").empty()
               ? "redis-server is not installed (scripts/install-deps.sh installs it)"
               : "";
  }

  RedisProcess() : port_(free_port()) {
    char dir[] = "/tmp/mamba2-redis.XXXXXX";
    if (!mkdtemp(dir)) std::abort();
    dir_ = dir;
    process_ = ChildProcess({find_program("redis-server"), "--port", std::to_string(port_),
                             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir",
                             dir_.string(), "--logfile", "", "--protected-mode", "no"});
    ready_ = wait_for_port(port_, std::chrono::seconds(10));
  }
  ~RedisProcess() {
    process_.stop();
    std::error_code error;
    std::filesystem::remove_all(dir_, error);
  }

  // Whether it accepts connections (a test asserts this first).
  bool ready() const { return ready_; }
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void stop() { process_.stop(); }

 private:
  int port_;
  bool ready_ = false;
  std::filesystem::path dir_;
  ChildProcess process_;
};

}  // namespace mamba2::testing
