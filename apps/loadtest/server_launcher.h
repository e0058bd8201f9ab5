// A mamba2-server the load test starts itself: on 127.0.0.1 and a free port (read from its
// "listening on" line), its stderr in a temporary file, its resident memory read from
// /proc/<pid>/status, stopped with SIGTERM (SIGKILL if it has not ended within 10 s).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace mamba2::loadtest {

class ServerLauncher {
 public:
  // Throws Error if the server does not start listening within `start_timeout_s`.
  ServerLauncher(const std::string& binary, std::vector<std::string> args, int start_timeout_s);
  ~ServerLauncher();
  ServerLauncher(const ServerLauncher&) = delete;
  ServerLauncher& operator=(const ServerLauncher&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string log() const;  // what it wrote to stderr so far
  // Its exit code; -1 if it had to be killed or died of a signal.
  int stop();

 private:
  pid_t pid_ = 0;
  int port_ = 0;
  int exit_code_ = -1;
  std::filesystem::path log_path_;
};

// VmRSS of a process in bytes; -1 if it cannot be read.
int64_t resident_bytes(pid_t pid);

}  // namespace mamba2::loadtest
