#include "loadtest/hostile_requests.h"

namespace mamba2::loadtest {
namespace {

std::string request(const std::string& method, const std::string& path, const std::string& body,
                    const std::string& api_key, const std::string& extra_headers = "") {
  std::string out = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!api_key.empty()) out += "Authorization: Bearer " + api_key + "\r\n";
  out += extra_headers;
  if (method == "POST") {
    out +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  return out + "\r\n" + body;
}

// The request with its Content-Length replaced by `length`: it promises more than it sends.
std::string promising(std::string bytes, size_t length) {
  const std::string field = "Content-Length: ";
  const size_t at = bytes.find(field) + field.size();
  return bytes.replace(at, bytes.find("\r\n", at) - at, std::to_string(length));
}

}  // namespace

std::vector<HostileRequest> hostile_requests(const ServerLimits& limits, bool stalls) {
  const std::string& key = limits.api_key;
  const std::string completions = "/v1/completions", chat = "/v1/chat/completions";
  auto post = [&](const std::string& path, const std::string& body) {
    return request("POST", path, body, key);
  };
  std::string long_prompt = "[";
  for (int64_t i = 0; i <= limits.max_prompt_tokens; ++i) {
    if (i > 0) long_prompt += ',';
    long_prompt += std::to_string(i % limits.vocab);
  }
  long_prompt += "]";

  std::vector<HostileRequest> out = {
      {"unterminated JSON", post(completions, R"({"prompt": "a", "max_tokens": 4)")},
      {"not JSON", post(completions, "prompt=hello")},
      {"JSON not an object", post(chat, R"(["user", "hello"])")},
      {"prompt a number", post(completions, R"({"prompt": 5})")},
      {"max_tokens a string", post(completions, R"({"prompt": "a", "max_tokens": "ten"})")},
      {"temperature a string", post(completions, R"({"prompt": "a", "temperature": "hot"})")},
      {"stream a string", post(completions, R"({"prompt": "a", "stream": "yes"})")},
      {"stop a number", post(completions, R"({"prompt": "a", "stop": 7})")},
      {"messages a string", post(chat, R"({"messages": "hello"})")},
      {"message without role", post(chat, R"({"messages": [{"content": "hello"}]})")},
      {"negative max_tokens", post(completions, R"({"prompt": "a", "max_tokens": -1})")},
      {"huge max_tokens", post(completions, R"({"prompt": "a", "max_tokens": 1000000000000})")},
      {"max_tokens past the limit",
       post(completions,
            R"({"prompt": "a", "max_tokens": )" + std::to_string(limits.max_tokens + 1) + "}")},
      {"empty prompt", post(completions, R"({"prompt": ""})")},
      {"empty id list", post(completions, R"({"prompt": []})")},
      {"no messages", post(chat, R"({"messages": []})")},
      {"id outside the vocabulary", post(completions, R"({"prompt": [2147483647]})")},
      {"negative id", post(completions, R"({"prompt": [-3]})")},
      {"prompt past --max-prompt-tokens", post(completions, R"({"prompt": )" + long_prompt + "}")},
      {"body over --max-body",
       post(completions, R"({"prompt": ")" +
                             std::string(static_cast<size_t>(limits.max_body) + 1024, 'a') +
                             "\"}")},
      {"unknown path", post("/v1/nothing", R"({"prompt": "a"})")},
      {"unknown GET path", request("GET", "/admin/../../etc/passwd", "", key)},
      {"GET on a POST path", request("GET", completions, "", key)},
      {"body cut short", promising(post(completions, R"({"prompt": "a", "max)"), 4000),
       RawEnding::kHalfClose, true},
  };
  if (!key.empty()) {
    out.push_back({"wrong API key", request("POST", completions, R"({"prompt": "a"})", "wrong")});
    out.push_back({"no API key", request("POST", completions, R"({"prompt": "a"})", "")});
    out.push_back({"key not Bearer",
                   request("GET", "/v1/models", "", "", "Authorization: Basic " + key + "\r\n")});
  }
  if (stalls) {
    out.push_back(
        {"body never finished", promising(post(completions, "{"), 1000), RawEnding::kStall});
    // Headers that stop halfway.
    out.push_back({"headers never finished",
                   "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Len",
                   RawEnding::kStall});
  }
  return out;
}

}  // namespace mamba2::loadtest
