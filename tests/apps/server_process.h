// A real mamba2-server on 127.0.0.1 and a free port, for the length of a test: started with the
// flags given, its port read from its "listening on" line, stopped with SIGTERM (SIGKILL if it
// does not end within seconds).
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace mamba2::testing {

class ServerProcess {
 public:
  explicit ServerProcess(std::vector<std::string> args) {
    args.insert(args.begin(), MAMBA2_SERVER_BIN);
    args.insert(args.end(), {"--host", "127.0.0.1", "--port", "0"});
    int err_pipe[2];
    if (pipe(err_pipe) != 0) std::abort();
    pid_ = fork();
    if (pid_ == 0) {
      dup2(err_pipe[1], STDERR_FILENO);
      close(err_pipe[0]);
      std::vector<char*> argv;
      for (std::string& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(err_pipe[1]);
    err_fd_ = err_pipe[0];
    read_port();
  }
  ~ServerProcess() { stop(); }

  int port() const { return port_; }
  const std::string& err() const { return err_; }
  httplib::Client client() const {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(60, 0);
    return client;
  }

  // SIGTERM, then the exit status (-1 if it had to be killed or did not exit normally).
  int stop() {
    if (pid_ <= 0) return exit_code_;
    kill(pid_, SIGTERM);
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        status = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    close(err_fd_);
    pid_ = 0;
    exit_code_ = status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return exit_code_;
  }

 private:
  void read_port() {
    const std::string marker = "listening on http://127.0.0.1:";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd fd{err_fd_, POLLIN, 0};
      if (poll(&fd, 1, 100) <= 0) continue;
      char buffer[512];
      const ssize_t n = read(err_fd_, buffer, sizeof buffer);
      if (n <= 0) break;
      err_.append(buffer, static_cast<size_t>(n));
      const size_t at = err_.find(marker);
      if (at != std::string::npos && err_.find('\n', at) != std::string::npos) {
        port_ = std::stoi(err_.substr(at + marker.size()));
        return;
      }
    }
    ADD_FAILURE() << "the server did not start: " << err_;
  }

  pid_t pid_ = 0;
  int err_fd_ = -1;
  int port_ = 0;
  int exit_code_ = -1;
  std::string err_;
};

}  // namespace mamba2::testing
