#include "loadtest/server_launcher.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "mamba2/error.h"

namespace mamba2::loadtest {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

ServerLauncher::ServerLauncher(const std::string& binary, std::vector<std::string> args,
                               int start_timeout_s) {
  std::string log_template =
      (std::filesystem::temp_directory_path() / "mamba2-loadtest-server-XXXXXX").string();
  const int log_fd = mkstemp(log_template.data());
  if (log_fd < 0) throw Error("mamba2-loadtest", "cannot make a temporary file for the log");
  log_path_ = log_template;
  args.insert(args.begin(), binary);
  args.insert(args.end(), {"--host", "127.0.0.1", "--port", "0"});
  pid_ = fork();
  if (pid_ == 0) {
    dup2(log_fd, STDERR_FILENO);
    const int null_fd = open("/dev/null", O_RDWR);
    dup2(null_fd, STDIN_FILENO);
    dup2(null_fd, STDOUT_FILENO);
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(log_fd);
  if (pid_ < 0) throw Error("mamba2-loadtest", "cannot start " + binary);

  const std::string marker = "listening on http://127.0.0.1:";
  const auto deadline = Clock::now() + std::chrono::seconds(start_timeout_s);
  while (Clock::now() < deadline) {
    const std::string text = log();
    const size_t at = text.find(marker);
    if (at != std::string::npos && text.find('\n', at) != std::string::npos) {
      port_ = std::stoi(text.substr(at + marker.size()));
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = 0;
      throw Error(binary, "the server ended before listening: " + text);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const std::string text = log();
  stop();
  throw Error(binary, "the server did not start listening in time: " + text);
}

ServerLauncher::~ServerLauncher() {
  stop();
  std::error_code ignored;
  std::filesystem::remove(log_path_, ignored);
}

std::string ServerLauncher::log() const {
  std::ifstream in(log_path_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int ServerLauncher::stop() {
  if (pid_ <= 0) return exit_code_;
  kill(pid_, SIGTERM);
  int status = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (Clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid_ = 0;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return exit_code_;
}

int64_t resident_bytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // "... kB"
  }
  return -1;
}

}  // namespace mamba2::loadtest
