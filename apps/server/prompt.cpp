#include "server/prompt.h"

#include <algorithm>

#include "server/api_error.h"

namespace mamba2::server {

std::string render_chat(const std::vector<ChatMessage>& messages,
                        const ChatTemplate& chat_template) {
  std::string system;
  for (const ChatMessage& message : messages) {
    if (message.role != "system") continue;
    if (!system.empty()) system += "\n";
    system += message.content;
  }
  std::string text = chat_template.prefix(system);
  bool first = true;
  for (const ChatMessage& message : messages) {
    if (message.role == "user") {
      text += chat_template.user_turn(message.content, first, !system.empty());
      first = false;
    } else if (message.role == "assistant") {
      text += message.content + chat_template.reply_end();
    }
  }
  return text;
}

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
    prompt.ids = tokenizer->encode(request.chat ? render_chat(request.messages, chat_template)
                                                : request.prompt);
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
