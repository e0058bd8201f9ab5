#include "loadtest/raw_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mamba2::loadtest {
namespace {

// Closes the socket however the exchange ends.
struct Socket {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ~Socket() {
    if (fd >= 0) close(fd);
  }
};

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// "HTTP/1.1 400 Bad Request" -> 400; 0 for anything else.
int status_of(const std::string& reply) {
  if (reply.rfind("HTTP/1.", 0) != 0 || reply.size() < 12 || reply[8] != ' ') return 0;
  int status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (reply[i] < '0' || reply[i] > '9') return 0;
    status = status * 10 + (reply[i] - '0');
  }
  return status;
}

}  // namespace

RawReply exchange_raw(int port, const std::string& bytes, RawEnding ending,
                      std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  Socket sock;
  if (sock.fd < 0) return {0, false, std::strerror(errno)};
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(sock.fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    return {0, false, std::string("connect: ") + std::strerror(errno)};
  }
  // The server may answer (413) and close before a large body is all sent: a failed send is not
  // the end, the reply may be waiting.
  for (size_t sent = 0; sent < bytes.size();) {
    const ssize_t n = send(sock.fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  if (ending == RawEnding::kHalfClose) shutdown(sock.fd, SHUT_WR);
  std::string reply;
  // The status line is all we need; stop reading once it is in.
  while (reply.find("\r\n") == std::string::npos) {
    pollfd fd{sock.fd, POLLIN, 0};
    const int left = remaining_ms(deadline);
    if (left == 0 || poll(&fd, 1, left) <= 0) return {0, false, "no reply in time"};
    char buffer[4096];
    const ssize_t n = recv(sock.fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    reply.append(buffer, static_cast<size_t>(n));
  }
  const int status = status_of(reply);
  if (status == 0) {
    return reply.empty() ? RawReply{0, true, "closed without a reply"}
                         : RawReply{0, false, "not an HTTP reply"};
  }
  return {status, false, ""};
}

}  // namespace mamba2::loadtest
