// A request the server refuses, as OpenAI's API reports it: an HTTP status and
// {"error": {"message", "type", "param", "code"}}.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace mamba2::server {

class ApiError : public std::runtime_error {
 public:
  // type: "invalid_request_error" for a 4xx of the request's making, "authentication_error",
  // "server_error"; param: the request field at fault ("" for none); code: a stable name or "".
  ApiError(int status, std::string message, std::string param = "", std::string code = "",
           std::string type = "invalid_request_error");

  int status() const { return status_; }
  nlohmann::json to_json() const;

 private:
  int status_;
  std::string param_, code_, type_;
};

// The body for a status that has no handler's message (404, 413, ...).
ApiError error_for_status(int status);

}  // namespace mamba2::server
