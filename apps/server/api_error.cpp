#include "server/api_error.h"

namespace mamba2::server {
namespace {

nlohmann::json null_if_empty(const std::string& text) {
  return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text);
}

}  // namespace

ApiError::ApiError(int status, std::string message, std::string param, std::string code,
                   std::string type)
    : std::runtime_error(std::move(message)),
      status_(status),
      param_(std::move(param)),
      code_(std::move(code)),
      type_(std::move(type)) {}

nlohmann::json ApiError::to_json() const {
  return {{"error",
           {{"message", what()},
            {"type", type_},
            {"param", null_if_empty(param_)},
            {"code", null_if_empty(code_)}}}};
}

ApiError error_for_status(int status) {
  switch (status) {
    case 404:
      return ApiError(404, "no such endpoint", "", "not_found");
    case 405:
      return ApiError(405, "method not allowed for this endpoint", "", "method_not_allowed");
    case 413:
      return ApiError(413, "the request body is larger than the server's --max-body", "",
                      "request_too_large");
    case 414:
      return ApiError(414, "the request URI is too long", "", "uri_too_long");
    default:
      if (status < 500) return ApiError(status, "bad request");
      return ApiError(status, "the server failed to handle the request", "", "", "server_error");
  }
}

}  // namespace mamba2::server
