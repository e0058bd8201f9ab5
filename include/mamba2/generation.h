// One reply generated from a prompt: the sampler chain picks each token, EOS, a stop string or a
// token budget ends the reply, and its text streams out in whole UTF-8 characters, stop strings
// never shown. A Generation only chooses tokens; running them through the model is the caller's,
// so one session (generate()) and a batch of sessions stepped together (a server) share it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mamba2/function_ref.h"
#include "mamba2/sampler.h"
#include "mamba2/session.h"
#include "mamba2/stop_strings.h"
#include "mamba2/tokenizer.h"

namespace mamba2 {

struct GenerationOptions {
  std::vector<std::string> stops;  // end the reply at any of these texts (besides EOS)
  int64_t max_tokens = -1;         // generated tokens at most; -1: no limit
};

enum class FinishReason {
  kNone,        // still generating
  kEndOfText,   // the model sampled EOS
  kStopString,  // one of the stop strings appeared
  kMaxTokens,   // max_tokens were generated
  kCancelled,   // the caller ended it
};

// OpenAI's finish_reason: "stop" (EOS, a stop string), "length", "cancelled"; "" while running.
std::string_view finish_reason_name(FinishReason reason);

// Receives the reply's text as it becomes printable (never empty).
using TextCallback = FunctionRef<void(std::string_view text)>;

class Generation {
 public:
  // `sampler` (which keeps its penalty window and random stream across replies) must outlive this.
  // Without a tokenizer the text is the token ids separated by spaces, and stop strings do not
  // apply; with one, EOS ends the reply.
  Generation(const Tokenizer* tokenizer, Sampler& sampler, GenerationOptions options);

  // Samples the next token from `logits` [vocab_padded] (of the prompt's last token, then of the
  // token returned before), records it in the sampler, and passes the text it completes to
  // `on_text`. Returns the token to run through the model before the next call, or nullopt once
  // the reply is finished (all its text has been passed on by then).
  std::optional<int32_t> next(std::span<const float> logits, TextCallback on_text);
  // Ends the reply early, passing on the text held back so far.
  void cancel(TextCallback on_text);

  bool finished() const { return reason_ != FinishReason::kNone; }
  FinishReason finish_reason() const { return reason_; }
  // The generated ids, EOS not included.
  const std::vector<int32_t>& tokens() const { return tokens_; }
  // The last generated token when the reply ended before it was run through the model (at a stop
  // string or max_tokens): what continues the conversation must run it first.
  std::optional<int32_t> unprocessed_token() const;

 private:
  void finish(FinishReason reason, TextCallback on_text);

  Sampler* sampler_;
  std::optional<TokenStreamDecoder> decoder_;
  StopStringFilter stop_filter_;
  int32_t eos_;
  int64_t max_tokens_;
  std::vector<int32_t> tokens_;
  FinishReason reason_ = FinishReason::kNone;
};

struct GenerationTimes {
  double prompt_seconds = 0;
  double first_token_seconds = 0;  // from the start until the first token was chosen
  double generation_seconds = 0;   // after the prompt
};

// The whole loop on one session: prefills `prompt` (the sampler's penalty window is the caller's
// to fill), then samples and decodes until the generation finishes or `cancelled()` says so
// (asked before each token).
GenerationTimes generate(Session& session, std::span<const int32_t> prompt, Generation& generation,
                         TextCallback on_text, FunctionRef<bool()> cancelled);
// The same loop after a prompt the caller has run: `logits` are its last token's.
GenerationTimes generate_from(Session& session, std::span<const float> logits,
                              Generation& generation, TextCallback on_text,
                              FunctionRef<bool()> cancelled);

}  // namespace mamba2
