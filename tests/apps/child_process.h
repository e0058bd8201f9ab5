// A program run by a test for the test's length: its stderr read through a pipe, stopped with
// SIGTERM (SIGKILL if it does not end within seconds) when the object goes, and killed by the
// kernel if the test process dies first (PR_SET_PDEATHSIG), so no exit path leaves it running.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace mamba2::testing {

class ChildProcess {
 public:
  ChildProcess() = default;
  // Runs args[0] (a path) with the rest as its arguments; stdout goes to /dev/null.
  explicit ChildProcess(std::vector<std::string> args) {
    int err_pipe[2];
    if (pipe(err_pipe) != 0) std::abort();
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);  // the test died before prctl
      dup2(err_pipe[1], STDERR_FILENO);
      const int null = open("/dev/null", O_WRONLY);
      dup2(null, STDOUT_FILENO);
      close(err_pipe[0]);
      std::vector<char*> argv;
      for (std::string& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(err_pipe[1]);
    err_fd_ = err_pipe[0];
  }
  ~ChildProcess() { stop(); }
  ChildProcess(ChildProcess&& other) noexcept { *this = std::move(other); }
  ChildProcess& operator=(ChildProcess&& other) noexcept {
    stop();
    std::swap(pid_, other.pid_);
    std::swap(err_fd_, other.err_fd_);
    std::swap(exit_code_, other.exit_code_);
    err_.swap(other.err_);
    return *this;
  }

  bool running() const { return pid_ > 0; }
  // What it wrote to stderr so far (read_err() collects more).
  const std::string& err() const { return err_; }

  // Reads stderr until `marker` and a newline after it appear or `timeout` passes; returns the
  // text after the marker's end (empty if it did not appear).
  std::string wait_for(const std::string& marker, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      const size_t at = err_.find(marker);
      if (at != std::string::npos && err_.find('\n', at) != std::string::npos) {
        return err_.substr(at + marker.size());
      }
      if (!read_err(100)) break;
    }
    return {};
  }
  // Collects what stderr has within `timeout_ms`; false once it is closed.
  bool read_err(int timeout_ms) {
    pollfd fd{err_fd_, POLLIN, 0};
    if (poll(&fd, 1, timeout_ms) <= 0) return true;
    char buffer[4096];
    const ssize_t n = read(err_fd_, buffer, sizeof buffer);
    if (n <= 0) return false;
    err_.append(buffer, static_cast<size_t>(n));
    return true;
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
    for (pollfd fd{err_fd_, POLLIN, 0}; poll(&fd, 1, 0) > 0 && read_err(0);) {
    }
    close(err_fd_);
    pid_ = 0;
    exit_code_ = status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return exit_code_;
  }

 private:
  pid_t pid_ = 0;
  int err_fd_ = -1;
  int exit_code_ = -1;
  std::string err_;
};

// The program's path in PATH; empty if it is not installed.
inline std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/usr/sbin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::filesystem::path candidate = std::filesystem::path(dir) / name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return {};
}

// A TCP port on 127.0.0.1 that nothing listens on at the moment (the kernel's choice).
inline int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    std::abort();
  }
  close(fd);
  return ntohs(address.sin_port);
}

// Whether something accepts connections on 127.0.0.1:port within `timeout`.
inline bool wait_for_port(int port, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port));
    const bool up = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    close(fd);
    if (up) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace mamba2::testing
