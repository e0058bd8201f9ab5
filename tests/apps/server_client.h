// Requests to a mamba2-server (or a load balancer in front of some) on 127.0.0.1, for the tests
// that run it as a process.
#pragma once

#include <httplib.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/apps/server_process.h"

namespace mamba2::testing {

struct Reply {
  int status = 0;  // 0: no response
  nlohmann::json body;
  httplib::Headers headers;
};

inline Reply post(int port, const std::string& path, const std::string& body,
                  const httplib::Headers& headers = {}) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(60, 0);
  const auto res = client.Post(path, headers, body, "application/json");
  if (!res) return {};
  return {res->status, nlohmann::json::parse(res->body, nullptr, false), res->headers};
}
inline Reply post(const ServerProcess& server, const std::string& path, const std::string& body,
                  const httplib::Headers& headers = {}) {
  return post(server.port(), path, body, headers);
}
inline Reply post(int port, const std::string& path, const nlohmann::json& body) {
  return post(port, path, body.dump());
}
inline Reply post(const ServerProcess& server, const std::string& path,
                  const nlohmann::json& body) {
  return post(server.port(), path, body.dump());
}

// The text of a whole completion or chat completion.
inline std::string text_of(const nlohmann::json& body) {
  const nlohmann::json& choice = body.at("choices").at(0);
  return choice.contains("message") ? choice["message"]["content"].get<std::string>()
                                    : choice["text"].get<std::string>();
}

// A counter or gauge of GET /metrics; -1 if the server does not answer or has no such metric.
inline int64_t metric(int port, const std::string& name) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(10, 0);
  const auto res = client.Get("/metrics");
  if (!res) return -1;
  const std::string line = "\n" + name + " ";
  const size_t at = res->body.find(line);
  return at == std::string::npos ? -1 : std::stoll(res->body.substr(at + line.size()));
}
inline int64_t metric(const ServerProcess& server, const std::string& name) {
  return metric(server.port(), name);
}

}  // namespace mamba2::testing
