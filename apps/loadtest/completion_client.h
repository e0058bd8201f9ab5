// A good request as a client of the load test makes it: POST /v1/completions with the prompt as
// token ids, streamed or whole, timed as the bytes arrive, and its reply checked (status 200,
// every event well-formed, a finish reason, usage that adds up).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mamba2::loadtest {

struct Target {
  int port = 0;  // on 127.0.0.1
  std::string api_key;
};

struct CompletionCall {
  std::vector<int32_t> prompt;
  int64_t max_tokens = 16;
  bool stream = true;
  uint64_t seed = 0;
};

struct CompletionOutcome {
  std::string error;  // empty: the reply was whole and well-formed
  int64_t completion_tokens = 0;
  double total_s = 0;         // request sent to reply complete
  double first_token_s = -1;  // to the first text (streamed only)
  double per_token_s = -1;    // first to last text over the tokens between (streamed, >1 token)
  std::string text;           // the reply (token ids separated by spaces for a model without a
                              // tokenizer)
};

// `timeout_s` bounds the whole exchange.
CompletionOutcome run_completion(const Target& target, const CompletionCall& call, int timeout_s);

}  // namespace mamba2::loadtest
