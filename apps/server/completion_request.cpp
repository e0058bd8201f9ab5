#include "server/completion_request.h"

#include <nlohmann/json.hpp>
#include <type_traits>

#include "mamba2/error.h"
#include "server/api_error.h"

namespace mamba2::server {
namespace {

using nlohmann::json;

// Stop strings a request may give (OpenAI allows 4): every generated token is checked against
// each one on the scheduler thread, which every slot waits for.
constexpr size_t kMaxStops = 16;

ApiError bad_field(const std::string& name, const std::string& why) {
  return ApiError(400, "'" + name + "' " + why, name, "invalid_value");
}

// The field if it is present and not null.
const json* find(const json& body, const char* name) {
  const auto it = body.find(name);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

bool boolean(const json& body, const char* name, bool fallback) {
  const json* value = find(body, name);
  if (value == nullptr) return fallback;
  if (!value->is_boolean()) throw bad_field(name, "must be a boolean");
  return value->get<bool>();
}

// Strings, or a string alone.
std::vector<std::string> strings(const json& value, const std::string& name) {
  if (value.is_string()) return {value.get<std::string>()};
  if (!value.is_array()) throw bad_field(name, "must be a string or an array of strings");
  std::vector<std::string> out;
  for (const json& item : value) {
    if (!item.is_string()) throw bad_field(name, "must be a string or an array of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

// Each sampler setting from its declared JSON name, checked as /set checks it.
void read_sampler(const json& body, CompletionRequest& request) {
  SamplerSettings::for_each(request.sampler, [&](auto& field, const auto& spec) {
    const json* value = find(body, spec.json_name);
    if (value == nullptr) return;
    const bool integral = std::is_integral_v<std::remove_cvref_t<decltype(field)>>;
    if (integral ? !value->is_number_integer() : !value->is_number()) {
      throw bad_field(spec.json_name, integral ? "must be an integer" : "must be a number");
    }
    try {
      set_sampler_setting(request.sampler, spec.json_name, value->dump());
    } catch (const Error& error) {
      throw ApiError(400, error.what(), spec.json_name, "invalid_value");
    }
  });
  request.seed_given = find(body, "seed") != nullptr;
}

// A message's content: a string, or OpenAI's list of parts of which only text is read.
std::string message_content(const json& message) {
  const json* content = find(message, "content");
  if (content == nullptr) return "";
  if (content->is_string()) return content->get<std::string>();
  if (!content->is_array()) throw bad_field("messages", "content must be a string or parts");
  std::string text;
  for (const json& part : *content) {
    const json* part_text = part.is_object() ? find(part, "text") : nullptr;
    if (part_text == nullptr || !part_text->is_string()) {
      throw bad_field("messages", "content parts must be {\"type\": \"text\", \"text\": ...}");
    }
    text += part_text->get<std::string>();
  }
  return text;
}

void read_messages(const json& body, CompletionRequest& request) {
  const json* messages = find(body, "messages");
  if (messages == nullptr || !messages->is_array() || messages->empty()) {
    throw bad_field("messages", "must be a non-empty array of messages");
  }
  for (const json& message : *messages) {
    const json* role = message.is_object() ? find(message, "role") : nullptr;
    if (role == nullptr || !role->is_string()) {
      throw bad_field("messages", "each message must be an object with a string 'role'");
    }
    std::string name = role->get<std::string>();
    if (name == "developer") name = "system";
    if (name != "system" && name != "user" && name != "assistant") {
      throw bad_field("messages", "role '" + name + "' is not system, user or assistant");
    }
    request.messages.push_back({name, message_content(message)});
  }
  if (request.messages.back().role != "user") {
    throw bad_field("messages", "must end with a user message");
  }
}

void read_prompt(const json& body, CompletionRequest& request) {
  const json* prompt = find(body, "prompt");
  if (prompt == nullptr) throw bad_field("prompt", "is required");
  // A list of one string reads as that string; a list of integers as token ids.
  if (prompt->is_array() && prompt->size() == 1 && (*prompt)[0].is_string()) prompt = &(*prompt)[0];
  if (prompt->is_string()) {
    request.prompt = prompt->get<std::string>();
    if (request.prompt.empty()) throw bad_field("prompt", "is empty");
    return;
  }
  if (!prompt->is_array()) throw bad_field("prompt", "must be a string or an array of token ids");
  std::vector<int32_t> ids;
  for (const json& id : *prompt) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
      throw bad_field("prompt", "must be a string or an array of token ids");
    }
    ids.push_back(static_cast<int32_t>(id.get<int64_t>()));
  }
  if (ids.empty()) throw bad_field("prompt", "is empty");
  request.prompt_ids = std::move(ids);
}

int64_t max_tokens(const json& body, int64_t limit) {
  for (const char* name : {"max_tokens", "max_completion_tokens"}) {
    const json* value = find(body, name);
    if (value == nullptr) continue;
    if (!value->is_number_integer()) throw bad_field(name, "must be an integer");
    const int64_t n = value->is_number_unsigned() && value->get<uint64_t>() > INT64_MAX
                          ? INT64_MAX
                          : value->get<int64_t>();
    if (n < 1) throw bad_field(name, "must be at least 1");
    if (n > limit) {
      throw ApiError(400,
                     "'" + std::string(name) + "' is " + std::to_string(n) +
                         ", more than this server's limit of " + std::to_string(limit),
                     name, "max_tokens_exceeded");
    }
    return n;
  }
  return -1;
}

}  // namespace

CompletionRequest parse_completion_request(std::string_view body, bool chat,
                                           int64_t max_tokens_limit) {
  const json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    throw ApiError(400, "the request body is not valid JSON", "", "invalid_json");
  }
  if (!parsed.is_object()) throw ApiError(400, "the request body must be a JSON object");
  CompletionRequest request;
  request.chat = chat;
  if (chat) {
    read_messages(parsed, request);
  } else {
    read_prompt(parsed, request);
  }
  read_sampler(parsed, request);
  if (const json* stop = find(parsed, "stop")) request.stops = strings(*stop, "stop");
  if (request.stops.size() > kMaxStops) {
    throw bad_field("stop", "has " + std::to_string(request.stops.size()) +
                                " strings, more than the " + std::to_string(kMaxStops) +
                                " this server takes");
  }
  request.max_tokens = max_tokens(parsed, max_tokens_limit);
  request.stream = boolean(parsed, "stream", false);
  if (const json* options = find(parsed, "stream_options")) {
    if (!options->is_object()) throw bad_field("stream_options", "must be an object");
    request.include_usage = boolean(*options, "include_usage", false);
  }
  if (const json* n = find(parsed, "n"); n != nullptr && (!n->is_number_integer() || *n != 1)) {
    throw bad_field("n", "must be 1 (one choice per request)");
  }
  return request;
}

}  // namespace mamba2::server
