#include "server/openai_json.h"

#include <chrono>
#include <random>

namespace mamba2::server {
namespace {

using nlohmann::json;

// The choice of a body: a completion's text, or a chat's message (whole) or delta (streamed).
json choice(const ResponseHeader& header, const json& content, const json& finish_reason,
            const char* chat_key) {
  json out = {{"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish_reason}};
  if (header.chat) {
    out[chat_key] = content;
  } else {
    out["text"] = content.is_object() ? json("") : content;
  }
  return out;
}

json body(const ResponseHeader& header, bool chunk, json choices) {
  const char* object =
      header.chat ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion";
  return {{"id", header.id},
          {"object", object},
          {"created", header.created},
          {"model", header.model},
          {"choices", std::move(choices)}};
}

}  // namespace

ResponseHeader make_response_header(bool chat, std::string model) {
  thread_local std::mt19937_64 random(std::random_device{}());
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(random()));
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return {chat, std::string(chat ? "chatcmpl-" : "cmpl-") + hex,
          std::chrono::duration_cast<std::chrono::seconds>(now).count(), std::move(model)};
}

json usage_json(int64_t prompt_tokens, int64_t completion_tokens) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}};
}

json completion_json(const ResponseHeader& header, const std::string& text,
                     std::string_view finish_reason, const json& usage) {
  const json message = {{"role", "assistant"}, {"content", text}};
  json out = body(header, false,
                  json::array({choice(header, header.chat ? message : json(text),
                                      std::string(finish_reason), "message")}));
  out["usage"] = usage;
  return out;
}

json chunk_json(const ResponseHeader& header, std::string_view text, bool first) {
  json delta = {{"content", text}};
  if (first) delta["role"] = "assistant";
  return body(header, true,
              json::array({choice(header, header.chat ? delta : json(text), nullptr, "delta")}));
}

json final_chunk_json(const ResponseHeader& header, std::string_view finish_reason) {
  return body(header, true,
              json::array({choice(header, json::object(), std::string(finish_reason), "delta")}));
}

json usage_chunk_json(const ResponseHeader& header, const json& usage) {
  json out = body(header, true, json::array());
  out["usage"] = usage;
  return out;
}

std::string sse_event(const json& body) {
  return "data: " + body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

}  // namespace mamba2::server
