#include "chat/interrupt.h"

#include <fcntl.h>
#include <sys/select.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>

namespace mamba2::chat {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;
int g_pipe[2] = {-1, -1};

extern "C" void on_sigint(int) {
  const int saved_errno = errno;
  g_interrupted = 1;
  const char byte = 1;
  [[maybe_unused]] const ssize_t ignored = write(g_pipe[1], &byte, 1);  // async-signal-safe
  errno = saved_errno;
}

}  // namespace

void install_interrupt_handler() {
  if (pipe(g_pipe) == 0) {
    for (int fd : g_pipe) {
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
      fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
  }
  struct sigaction action {};
  action.sa_handler = on_sigint;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
}

bool interrupt_requested() { return g_interrupted != 0; }

void clear_interrupt() {
  g_interrupted = 0;
  char drain[64];
  if (g_pipe[0] >= 0) {
    while (read(g_pipe[0], drain, sizeof drain) > 0) {
    }
  }
}

int interrupt_fd() { return g_pipe[0]; }

bool wait_readable_or_interrupt(int fd) {
  for (;;) {
    if (interrupt_requested()) return false;
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(fd, &readable);
    if (g_pipe[0] >= 0) FD_SET(g_pipe[0], &readable);
    const int ready = select(std::max(fd, g_pipe[0]) + 1, &readable, nullptr, nullptr, nullptr);
    if (ready < 0 && errno != EINTR) return true;  // let the read() report the problem
    if (ready > 0 && FD_ISSET(fd, &readable) && !interrupt_requested()) return true;
  }
}

}  // namespace mamba2::chat
