// A request's prompt as token ids: a chat's messages laid out by the model's chat template, a
// completion's text tokenized (or its ids taken as they are), and the server's limits checked.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mamba2/chat_template.h"
#include "mamba2/config.h"
#include "mamba2/tokenizer.h"
#include "server/completion_request.h"

namespace mamba2::server {

struct PromptLimits {
  int64_t max_prompt_tokens = 0;
  int64_t max_tokens = 0;  // a reply's tokens at most, and the default of max_tokens
  int64_t context = 0;     // prompt and reply together at most; 0: no limit
};

struct Prompt {
  std::vector<int32_t> ids;
  int64_t max_tokens = 0;  // the request's, or what the limits leave
};

// Throws ApiError (400) for text given to a model without a tokenizer, ids outside the
// vocabulary, or a prompt or reply beyond the limits.
Prompt make_prompt(const CompletionRequest& request, const Tokenizer* tokenizer,
                   const ChatTemplate& chat_template, const ModelConfig& config,
                   const PromptLimits& limits);

}  // namespace mamba2::server
