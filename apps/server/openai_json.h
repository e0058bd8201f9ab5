// The bodies OpenAI's API answers with: a whole completion or chat completion, and the chunks of
// a streamed one (each sent as "data: {...}\n\n", then "data: [DONE]\n\n").
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace mamba2::server {

// What every body of one response repeats.
struct ResponseHeader {
  bool chat = false;
  std::string id;  // "cmpl-..." or "chatcmpl-..."
  int64_t created = 0;
  std::string model;
};

ResponseHeader make_response_header(bool chat, std::string model);

nlohmann::json usage_json(int64_t prompt_tokens, int64_t completion_tokens);

nlohmann::json completion_json(const ResponseHeader& header, const std::string& text,
                               std::string_view finish_reason, const nlohmann::json& usage);

// A streamed piece of text; the first chunk of a chat also opens the assistant's message.
nlohmann::json chunk_json(const ResponseHeader& header, std::string_view text, bool first);
// The last chunk with text: none, and the finish reason.
nlohmann::json final_chunk_json(const ResponseHeader& header, std::string_view finish_reason);
// After it, with stream_options.include_usage: no choices, the usage.
nlohmann::json usage_chunk_json(const ResponseHeader& header, const nlohmann::json& usage);

// "data: <json>\n\n"
std::string sse_event(const nlohmann::json& body);
inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";

}  // namespace mamba2::server
