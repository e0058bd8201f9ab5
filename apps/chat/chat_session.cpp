#include "chat/chat_session.h"

#include <algorithm>

#include "chat/interrupt.h"
#include "mamba2/error.h"

namespace mamba2::chat {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::optional<Tokenizer> tokenizer_of(const Model& model) {
  if (!model.weights().tokenizer) return std::nullopt;
  return Tokenizer(*model.weights().tokenizer, model.weights().name);
}

ChatTemplate make_template(ChatTemplateKind kind, const Tokenizer* tokenizer) {
  return tokenizer == nullptr ? ChatTemplate(kind) : ChatTemplate(kind, *tokenizer);
}

}  // namespace

ChatSession::ChatSession(std::shared_ptr<const Model> model, SessionOptions options,
                         ChatSettings settings)
    : model_(model),
      session_(model, options),
      tokenizer_(tokenizer_of(*model)),
      settings_(std::move(settings)),
      template_(make_template(settings_.template_kind, tokenizer_ ? &*tokenizer_ : nullptr)),
      sampler_(settings_.sampler,
               generation_mask(model->config(), tokenizer_ ? &*tokenizer_ : nullptr)),
      fingerprint_(model_fingerprint(*model)) {
  if (!tokenizer_) {
    if (settings_.template_kind != ChatTemplateKind::kPlain) {
      throw Error("--template", "the model has no tokenizer, so only the plain template applies");
    }
    if (!settings_.system.empty()) {
      throw Error("--system", "the model has no tokenizer, so it cannot read a system text");
    }
  }
  const ChatPrompt prefix = template_.prefix(settings_.system);
  if (!prefix.empty()) {
    const std::vector<int32_t> ids = prefix.encode(*tokenizer_);
    const auto start = Clock::now();
    session_.prefill(ids);
    stats_.prompt_seconds += seconds_since(start);
    stats_.prompt_tokens += static_cast<int64_t>(ids.size());
    sampler_.accept(ids);
    base_state_ = session_.state();
    base_tokens_ = ids;
    base_recent_.assign(sampler_.recent().begin(), sampler_.recent().end());
    base_text_ = prefix.str();
  }
  tokens_ = base_tokens_;
  text_ = base_text_;
}

void ChatSession::reset() {
  if (base_state_) {
    session_.set_state(*base_state_);
  } else {
    session_.reset();
  }
  sampler_.set_recent(base_recent_);
  tokens_ = base_tokens_;
  text_ = base_text_;
  pending_.clear();
  turns_ = 0;
  reply_open_ = false;
}

ReplyResult ChatSession::reply_to_text(const std::string& message, std::FILE* out) {
  if (!tokenizer_) {
    throw Error("the model has no tokenizer: give token ids (--ids 1,2,3, or lines like 1,2,3)");
  }
  ChatPrompt turn = reply_open_ ? template_.reply_end() : ChatPrompt();
  turn.append(template_.user_turn(message, turns_ == 0, settings_.system));
  std::vector<int32_t> prompt = pending_;
  const std::vector<int32_t> ids = turn.encode(*tokenizer_);
  prompt.insert(prompt.end(), ids.begin(), ids.end());
  return run_turn(std::move(prompt), turn.str(), out);
}

ReplyResult ChatSession::reply_to_ids(const std::vector<int32_t>& ids, std::FILE* out) {
  for (int32_t id : ids) {
    if (id < 0 || id >= model_->config().vocab_padded) {
      throw Error(
          "token id " + std::to_string(id),
          "outside the vocabulary (0.." + std::to_string(model_->config().vocab_padded - 1) + ")");
    }
  }
  std::vector<int32_t> prompt = pending_;
  std::string closing;
  if (reply_open_ && tokenizer_) {
    closing = template_.reply_end().str();
    const std::vector<int32_t> closing_ids = template_.reply_end().encode(*tokenizer_);
    prompt.insert(prompt.end(), closing_ids.begin(), closing_ids.end());
  }
  prompt.insert(prompt.end(), ids.begin(), ids.end());
  return run_turn(std::move(prompt), closing + (tokenizer_ ? tokenizer_->decode(ids) : ""), out);
}

ReplyResult ChatSession::run_turn(std::vector<int32_t> prompt, const std::string& prompt_text,
                                  std::FILE* out) {
  ReplyResult result;
  if (prompt.empty()) return result;
  const size_t already_recorded = pending_.size();
  pending_.clear();
  reply_open_ = true;
  ++turns_;
  text_ += prompt_text;

  auto start = Clock::now();
  std::span<const float> logits = session_.prefill(prompt);
  stats_.prompt_seconds += seconds_since(start);
  stats_.prompt_tokens += static_cast<int64_t>(prompt.size());
  // The pending token opened the prompt, but it is already counted: it was generated.
  const auto fresh = std::span<const int32_t>(prompt).subspan(already_recorded);
  sampler_.accept(fresh);
  tokens_.insert(tokens_.end(), fresh.begin(), fresh.end());

  const int32_t eos = tokenizer_ ? tokenizer_->eos_id() : -1;
  std::optional<TokenStreamDecoder> decoder;
  std::vector<std::string> stops = settings_.stops;
  if (tokenizer_) {
    decoder.emplace(*tokenizer_);
    for (const std::string& stop : template_.stop_strings()) stops.push_back(stop);
  }
  StopStringFilter stop_filter(std::move(stops));
  auto emit = [&](const std::string& shown) {
    std::fwrite(shown.data(), 1, shown.size(), out);
    text_ += shown;
  };

  start = Clock::now();
  for (int64_t k = 0; settings_.max_tokens < 0 || k < settings_.max_tokens; ++k) {
    if (interrupt_requested()) {
      result.interrupted = true;
      break;
    }
    const int32_t token = sampler_.sample(logits);
    if (token == eos) break;  // not run through the model: the template's closing text follows
    sampler_.accept(token);
    tokens_.push_back(token);
    result.ids.push_back(token);
    if (decoder) {
      emit(stop_filter.push(decoder->push(token)));
      if (stop_filter.stopped()) {
        pending_ = {token};
        reply_open_ = false;  // the model closed its turn itself
        break;
      }
    } else {
      std::fprintf(out, "%s%d", k ? " " : "", token);
    }
    std::fflush(out);
    if (settings_.max_tokens >= 0 && k + 1 == settings_.max_tokens) {
      pending_ = {token};  // run through the model at the start of the next turn
      break;
    }
    logits = session_.decode(token);
  }
  stats_.generation_seconds += seconds_since(start);
  stats_.generated_tokens += static_cast<int64_t>(result.ids.size());
  if (decoder && !stop_filter.stopped()) {
    emit(stop_filter.push(decoder->flush()) + stop_filter.flush());
  }
  std::fflush(out);
  return result;
}

ChatStats ChatSession::stats() const {
  ChatStats stats = stats_;
  stats.tokens_so_far = static_cast<int64_t>(tokens_.size());
  const SessionState& state = session_.state();
  stats.state_bytes = static_cast<int64_t>((state.conv.size() + state.ssm.size()) * sizeof(float));
  return stats;
}

void ChatSession::save(const std::string& path) const {
  ConversationState state;
  state.session = session_.state();
  state.base = base_state_;
  state.pending = pending_;
  state.sampler = sampler_.settings();
  state.rng_state = sampler_.rng_state();
  state.recent.assign(sampler_.recent().begin(), sampler_.recent().end());
  state.tokens = tokens_;
  state.text = text_;
  state.template_name = std::string(chat_template_name(template_.kind()));
  state.turns = turns_;
  state.reply_open = reply_open_;
  state.base_tokens = static_cast<int64_t>(base_tokens_.size());
  state.base_text_bytes = static_cast<int64_t>(base_text_.size());
  save_conversation(path, state, fingerprint_);
}

void ChatSession::load(const std::string& path) {
  ConversationState state = load_conversation(path, fingerprint_, model_->config());
  ChatTemplateKind kind;
  try {
    kind = parse_chat_template(state.template_name);
  } catch (const Error&) {
    throw Error(path, "unknown chat template '" + state.template_name + "'");
  }
  if (kind != ChatTemplateKind::kPlain && !tokenizer_) {
    throw Error(path,
                "saved with the " + state.template_name + " template, which needs a tokenizer");
  }
  // Everything that can fail happens on copies, so a refused file leaves the conversation as it
  // was.
  Sampler sampler = sampler_;
  sampler.set_settings(state.sampler);
  try {
    sampler.set_rng_state(state.rng_state);
  } catch (const Error& error) {
    throw Error(path, error.what());
  }
  sampler.set_recent(
      std::vector<int32_t>(state.tokens.begin(), state.tokens.begin() + state.base_tokens));
  std::vector<int32_t> base_recent(sampler.recent().begin(), sampler.recent().end());
  sampler.set_recent(state.recent);
  session_.set_state(state.session);

  sampler_ = std::move(sampler);
  settings_.template_kind = kind;
  template_ = make_template(kind, tokenizer_ ? &*tokenizer_ : nullptr);
  base_state_ = state.base;
  base_tokens_.assign(state.tokens.begin(), state.tokens.begin() + state.base_tokens);
  base_recent_ = std::move(base_recent);
  base_text_ = state.text.substr(0, static_cast<size_t>(state.base_text_bytes));
  tokens_ = std::move(state.tokens);
  pending_ = std::move(state.pending);
  text_ = std::move(state.text);
  turns_ = state.turns;
  reply_open_ = state.reply_open;
}

}  // namespace mamba2::chat
