// The body of POST /v1/completions and /v1/chat/completions, read and checked: a well-formed
// request becomes a CompletionRequest, anything else an ApiError naming the field at fault.
// Unknown fields are ignored, as llama-server ignores them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mamba2/chat_template.h"
#include "mamba2/sampler_settings.h"

namespace mamba2::server {

// "system", "user" or "assistant" ("developer" reads as "system").
using mamba2::ChatMessage;

struct CompletionRequest {
  bool chat = false;
  std::string prompt;                              // completions: the prompt as text ...
  std::optional<std::vector<int32_t>> prompt_ids;  // ... or as token ids
  std::vector<ChatMessage> messages;               // chat: ends with a user message
  SamplerSettings sampler;                         // every field not given keeps its default
  bool seed_given = false;
  std::vector<std::string> stops;
  int64_t max_tokens = -1;  // -1: not given
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
};

// Throws ApiError (400) for malformed JSON, a field of the wrong type or out of range, an empty
// prompt or message list, more than 16 stop strings, or max_tokens above `max_tokens_limit`.
CompletionRequest parse_completion_request(std::string_view body, bool chat,
                                           int64_t max_tokens_limit);

}  // namespace mamba2::server
