#include "mamba2/generation.h"

#include <chrono>

namespace mamba2 {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Calls on_text only with something to say.
void pass_on(TextCallback on_text, const std::string& text) {
  if (!text.empty()) on_text(text);
}

}  // namespace

std::string_view finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::kNone:
      return "";
    case FinishReason::kEndOfText:
    case FinishReason::kStopString:
      return "stop";
    case FinishReason::kMaxTokens:
      return "length";
    case FinishReason::kCancelled:
      return "cancelled";
  }
  return "";
}

Generation::Generation(const Tokenizer* tokenizer, Sampler& sampler, GenerationOptions options)
    : sampler_(&sampler),
      stop_filter_(tokenizer != nullptr ? std::move(options.stops) : std::vector<std::string>{}),
      eos_(tokenizer != nullptr ? tokenizer->eos_id() : -1),
      max_tokens_(options.max_tokens) {
  if (tokenizer != nullptr) decoder_.emplace(*tokenizer);
}

std::optional<int32_t> Generation::next(std::span<const float> logits, TextCallback on_text) {
  if (finished()) return std::nullopt;
  if (max_tokens_ >= 0 && static_cast<int64_t>(tokens_.size()) >= max_tokens_) {
    finish(FinishReason::kMaxTokens, on_text);  // max_tokens 0: nothing is sampled
    return std::nullopt;
  }
  const int32_t token = sampler_->sample(logits);
  if (token == eos_) {
    // Not recorded and not run through the model: a template's closing text follows it.
    finish(FinishReason::kEndOfText, on_text);
    return std::nullopt;
  }
  sampler_->accept(token);
  tokens_.push_back(token);
  if (!decoder_) {
    std::string text = tokens_.size() > 1 ? " " : "";
    text += std::to_string(token);  // (GCC 12 misreads "" + std::string as an overlapping copy)
    on_text(text);
  } else {
    pass_on(on_text, stop_filter_.push(decoder_->push(token)));
    if (stop_filter_.stopped()) {
      reason_ = FinishReason::kStopString;
      return std::nullopt;
    }
  }
  if (max_tokens_ >= 0 && static_cast<int64_t>(tokens_.size()) == max_tokens_) {
    finish(FinishReason::kMaxTokens, on_text);
    return std::nullopt;
  }
  return token;
}

void Generation::cancel(TextCallback on_text) {
  if (!finished()) finish(FinishReason::kCancelled, on_text);
}

void Generation::finish(FinishReason reason, TextCallback on_text) {
  reason_ = reason;
  if (decoder_ && !stop_filter_.stopped()) {
    pass_on(on_text, stop_filter_.push(decoder_->flush()) + stop_filter_.flush());
  }
}

std::optional<int32_t> Generation::unprocessed_token() const {
  const bool ended_after_a_token = reason_ == FinishReason::kStopString ||
                                   (reason_ == FinishReason::kMaxTokens && !tokens_.empty());
  if (!ended_after_a_token) return std::nullopt;
  return tokens_.back();
}

GenerationTimes generate(Session& session, std::span<const int32_t> prompt, Generation& generation,
                         TextCallback on_text, FunctionRef<bool()> cancelled) {
  const auto start = Clock::now();
  const std::span<const float> logits = session.prefill(prompt);
  const double prompt_seconds = seconds_since(start);
  GenerationTimes times = generate_from(session, logits, generation, on_text, cancelled);
  times.prompt_seconds = prompt_seconds;
  times.first_token_seconds += prompt_seconds;
  return times;
}

GenerationTimes generate_from(Session& session, std::span<const float> logits,
                              Generation& generation, TextCallback on_text,
                              FunctionRef<bool()> cancelled) {
  GenerationTimes times;
  const auto start = Clock::now();
  bool first = true;
  while (!generation.finished()) {
    if (cancelled()) {
      generation.cancel(on_text);
      break;
    }
    const std::optional<int32_t> token = generation.next(logits, on_text);
    if (first) {
      times.first_token_seconds = seconds_since(start);
      first = false;
    }
    if (token) logits = session.decode(*token);
  }
  times.generation_seconds = seconds_since(start);
  return times;
}

}  // namespace mamba2
