#include "server/prompt.h"

#include <algorithm>

#include "mamba2/error.h"
#include "server/api_error.h"

namespace mamba2::server {
namespace {

// The conversation as the model's template lays it out (mistral: as mistral-common does).
std::vector<int32_t> chat_ids(const std::vector<ChatMessage>& messages,
                              const ChatTemplate& chat_template, const Tokenizer& tokenizer) {
  try {
    return chat_template.conversation(messages).encode(tokenizer);
  } catch (const Error& e) {
    throw ApiError(400, e.what(), "messages", "invalid_value");
  }
}

}  // namespace

Prompt make_prompt(const CompletionRequest& request, const Tokenizer* tokenizer,
                   const ChatTemplate& chat_template, const ModelConfig& config,
                   const PromptLimits& limits) {
  const char* field = request.chat ? "messages" : "prompt";
  Prompt prompt;
  if (request.prompt_ids) {
    prompt.ids = *request.prompt_ids;
    for (int32_t id : prompt.ids) {
      if (id >= config.vocab_size) {
        throw ApiError(400,
                       "token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                           std::to_string(config.vocab_size - 1) + ")",
                       field, "invalid_value");
      }
    }
  } else {
    if (tokenizer == nullptr) {
      throw ApiError(400, "the model has no tokenizer: give the prompt as token ids", field,
                     "invalid_value");
    }
    prompt.ids = request.chat ? chat_ids(request.messages, chat_template, *tokenizer)
                              : tokenizer->encode(request.prompt);
  }
  const auto count = static_cast<int64_t>(prompt.ids.size());
  if (count == 0) throw ApiError(400, "the prompt is empty", field, "invalid_value");
  if (count > limits.max_prompt_tokens) {
    throw ApiError(400,
                   "the prompt is " + std::to_string(count) +
                       " tokens, more than this server's --max-prompt-tokens " +
                       std::to_string(limits.max_prompt_tokens),
                   field, "context_length_exceeded");
  }
  prompt.max_tokens = request.max_tokens >= 0 ? request.max_tokens : limits.max_tokens;
  if (limits.context > 0) {
    if (count >= limits.context) {
      throw ApiError(400,
                     "the prompt is " + std::to_string(count) +
                         " tokens, which leaves no room for a reply in -c " +
                         std::to_string(limits.context),
                     field, "context_length_exceeded");
    }
    if (request.max_tokens < 0)
      prompt.max_tokens = std::min(prompt.max_tokens, limits.context - count);
    if (count + prompt.max_tokens > limits.context) {
      throw ApiError(400,
                     "the prompt (" + std::to_string(count) + " tokens) and max_tokens (" +
                         std::to_string(prompt.max_tokens) + ") exceed -c " +
                         std::to_string(limits.context),
                     "max_tokens", "context_length_exceeded");
    }
  }
  return prompt;
}

}  // namespace mamba2::server
