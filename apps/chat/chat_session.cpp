#include "chat/chat_session.h"

#include <algorithm>

#include "chat/interrupt.h"
#include "common/model_template.h"
#include "mamba2/error.h"

namespace mamba2::chat {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Two snapshots per turn (its stable point and its prompt's end), the ids they key included:
// a third state would not fit.
int64_t snapshot_budget(const ModelConfig& config) {
  return 3 * (conv_state_size(config) + ssm_state_size(config)) * int64_t{sizeof(float)};
}

// How many ids `a` and `b` share at their start.
size_t common_prefix(std::span<const int32_t> a, std::span<const int32_t> b) {
  return static_cast<size_t>(std::ranges::mismatch(a, b).in1 - a.begin());
}

bool is_proper_prefix(std::span<const int32_t> prefix, std::span<const int32_t> ids) {
  return prefix.size() < ids.size() && common_prefix(prefix, ids) == prefix.size();
}

}  // namespace

ChatSession::ChatSession(std::shared_ptr<const Model> model, SessionOptions options,
                         ChatSettings settings)
    : model_(model),
      session_(model, options),
      tokenizer_(apps::model_tokenizer(*model)),
      settings_(std::move(settings)),
      template_(
          apps::model_chat_template(settings_.template_kind, tokenizer_ ? &*tokenizer_ : nullptr)),
      sampler_(settings_.sampler,
               generation_mask(model->config(), tokenizer_ ? &*tokenizer_ : nullptr)),
      fingerprint_(model_fingerprint(*model)),
      snapshots_(snapshot_budget(model->config())) {
  if (!tokenizer_) {
    if (settings_.template_kind != ChatTemplateKind::kPlain) {
      throw Error("--template", "the model has no tokenizer, so only the plain template applies");
    }
    if (!settings_.system.empty()) {
      throw Error("--system", "the model has no tokenizer, so it cannot read a system text");
    }
  }
  if (!settings_.system.empty()) messages_.push_back({"system", settings_.system});
  // What every rendering of the conversation starts with, prefilled now and kept for /reset.
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
  messages_.clear();
  if (!settings_.system.empty()) messages_.push_back({"system", settings_.system});
  tokens_ = base_tokens_;
  text_ = base_text_;
  pending_.clear();
  turns_ = 0;
  reply_open_ = false;
}

void ChatSession::set_messages(std::vector<ChatMessage> messages) {
  if (!tokenizer_) throw Error("the model has no tokenizer, so it cannot read messages");
  messages_ = std::move(messages);
}

std::span<const int32_t> ChatSession::consumed() const {
  return std::span<const int32_t>(tokens_).first(tokens_.size() - pending_.size());
}

ReplyResult ChatSession::reply_to_text(const std::string& message, std::FILE* out) {
  if (!tokenizer_) {
    throw Error("the model has no tokenizer: give token ids (--ids 1,2,3, or lines like 1,2,3)");
  }
  turn_start_ = Clock::now();
  std::vector<ChatMessage> messages = messages_;
  messages.push_back({"user", message});
  const ChatPrompt prompt = template_.conversation(messages);  // throws for a refused one
  const std::vector<int32_t> ids = prompt.encode(*tokenizer_);
  // The ids this rendering shares with the next turn's, whatever the reply and the next message
  // (Mistral's system text moves on to the next user message, so there the previous [INST] ends
  // them).
  std::vector<ChatMessage> next = messages;
  next.push_back({"assistant", "x"});
  next.push_back({"user", "y"});
  const size_t stable = common_prefix(ids, template_.conversation(next).encode(*tokenizer_));

  ReplyResult result = run_turn(ids, stable, out);
  messages_ = std::move(messages);
  // A reply without text leaves the user message alone (Mistral's format has no empty
  // assistant message): the next one joins it.
  if (!result.text.empty()) messages_.push_back({"assistant", result.text});
  text_ = prompt.str() + result.text;
  return result;
}

ReplyResult ChatSession::reply_to_ids(const std::vector<int32_t>& ids, std::FILE* out) {
  turn_start_ = Clock::now();
  for (int32_t id : ids) {
    if (id < 0 || id >= model_->config().vocab_padded) {
      throw Error(
          "token id " + std::to_string(id),
          "outside the vocabulary (0.." + std::to_string(model_->config().vocab_padded - 1) + ")");
    }
  }
  // Ids go to the model as they are, after everything so far.
  std::vector<int32_t> prompt = tokens_;
  std::string closing;
  if (reply_open_ && tokenizer_) {
    closing = template_.reply_end().str();
    const std::vector<int32_t> closing_ids = template_.reply_end().encode(*tokenizer_);
    prompt.insert(prompt.end(), closing_ids.begin(), closing_ids.end());
  }
  prompt.insert(prompt.end(), ids.begin(), ids.end());
  const std::string message = tokenizer_ ? tokenizer_->decode(ids) : "";
  const std::string before = text_;
  ReplyResult result = run_turn(prompt, prompt.size(), out);
  text_ = before + closing + message + result.text;
  if (tokenizer_) {
    messages_.push_back({"user", message});
    if (!result.text.empty()) messages_.push_back({"assistant", result.text});
  }
  return result;
}

size_t ChatSession::restore_longest_prefix(std::span<const int32_t> prompt) {
  if (!settings_.reuse_states) {
    session_.reset();
    return 0;
  }
  // The state after the last reply needs no copy; a snapshot or the base state does.
  const std::span<const int32_t> live = consumed();
  const std::optional<PrefixCache::Hit> hit = snapshots_.find(prompt);
  const size_t from_snapshot = hit ? static_cast<size_t>(hit->length) : 0;
  const size_t from_base = is_proper_prefix(base_tokens_, prompt) ? base_tokens_.size() : 0;
  if (is_proper_prefix(live, prompt) && live.size() >= std::max(from_snapshot, from_base)) {
    return live.size();
  }
  if (hit && from_snapshot >= from_base) {
    session_.set_state(*hit->state);
    return from_snapshot;
  }
  if (base_state_ && from_base > 0) {
    session_.set_state(*base_state_);
    return from_base;
  }
  session_.reset();
  return 0;
}

ReplyResult ChatSession::run_turn(const std::vector<int32_t>& prompt, size_t stable,
                                  std::FILE* out) {
  ReplyResult result;
  if (prompt.empty()) return result;
  const size_t reused = restore_longest_prefix(prompt);
  const std::span<const int32_t> ids(prompt);
  size_t done = reused;
  const auto prefill_start = Clock::now();
  if (settings_.reuse_states && stable > done && stable < ids.size()) {
    session_.prefill(ids.subspan(done, stable - done));
    snapshots_.insert(ids.first(stable), session_.state());
    done = stable;
  }
  const std::span<const float> logits = session_.prefill(ids.subspan(done));
  if (settings_.reuse_states) snapshots_.insert(ids, session_.state());
  const double prompt_seconds = seconds_since(prefill_start);

  pending_.clear();
  reply_open_ = true;
  ++turns_;
  tokens_ = prompt;
  // The penalty window sees the whole conversation, as a run from the start would.
  sampler_.set_recent(prompt);

  std::vector<std::string> stops = settings_.stops;
  if (tokenizer_) {
    for (const std::string& stop : template_.stop_strings()) stops.push_back(stop);
  }
  Generation generation(tokenizer_ ? &*tokenizer_ : nullptr, sampler_,
                        {std::move(stops), settings_.max_tokens});
  const GenerationTimes times = generate_from(
      session_, logits, generation,
      [&](std::string_view shown) {
        std::fwrite(shown.data(), 1, shown.size(), out);
        std::fflush(out);
        if (tokenizer_) result.text += shown;  // an id-only model's transcript holds no text
      },
      [] { return interrupt_requested(); });

  TurnStats& turn = stats_.last_turn;
  turn.prompt = prompt;
  turn.reused = static_cast<int64_t>(reused);
  turn.prefilled = static_cast<int64_t>(prompt.size() - reused);
  turn.first_token_seconds = std::chrono::duration<double>(prefill_start - turn_start_).count() +
                             prompt_seconds + times.first_token_seconds;
  stats_.prompt_seconds += prompt_seconds;
  stats_.prompt_tokens += turn.prefilled;
  stats_.reused_tokens += turn.reused;
  stats_.generation_seconds += times.generation_seconds;
  if (settings_.prompt_log != nullptr) {
    std::fprintf(settings_.prompt_log,
                 "prompt: %zu ids, %lld restored, %lld prefilled:", prompt.size(),
                 static_cast<long long>(turn.reused), static_cast<long long>(turn.prefilled));
    for (int32_t id : prompt) std::fprintf(settings_.prompt_log, " %d", id);
    std::fputc('\n', settings_.prompt_log);
    std::fflush(settings_.prompt_log);
  }

  result.ids = generation.tokens();
  result.interrupted = generation.finish_reason() == FinishReason::kCancelled;
  tokens_.insert(tokens_.end(), result.ids.begin(), result.ids.end());
  stats_.generated_tokens += static_cast<int64_t>(result.ids.size());
  if (const std::optional<int32_t> last = generation.unprocessed_token()) {
    pending_ = {*last};  // run through the model at the start of the next turn
  }
  // The model closed its turn itself.
  if (generation.finish_reason() == FinishReason::kStopString) reply_open_ = false;
  std::fflush(out);
  return result;
}

int64_t ChatSession::state_bytes() const {
  const SessionState& state = session_.state();
  return static_cast<int64_t>((state.conv.size() + state.ssm.size()) * sizeof(float));
}

ChatStats ChatSession::stats() const {
  ChatStats stats = stats_;
  stats.tokens_so_far = static_cast<int64_t>(tokens_.size());
  stats.state_bytes = state_bytes();
  stats.snapshots = snapshots_.entries();
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
  state.base_tokens = base_tokens_;
  state.base_text = base_text_;
  state.messages = messages_;
  snapshots_.visit([&](std::span<const int32_t> tokens, const SessionState& snapshot) {
    state.snapshots.push_back({std::vector<int32_t>(tokens.begin(), tokens.end()), snapshot});
  });
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
  sampler.set_recent(state.base_tokens);
  std::vector<int32_t> base_recent(sampler.recent().begin(), sampler.recent().end());
  sampler.set_recent(state.recent);
  if (!state.messages.empty() && !tokenizer_) {
    throw Error(path, "holds messages, which need a tokenizer");
  }
  PrefixCache snapshots(snapshot_budget(model_->config()));
  for (const ConversationState::Snapshot& snapshot : state.snapshots) {
    snapshots.insert(snapshot.tokens, snapshot.state);
  }
  session_.set_state(state.session);  // checks the sizes

  sampler_ = std::move(sampler);
  settings_.template_kind = kind;
  template_ = apps::model_chat_template(kind, tokenizer_ ? &*tokenizer_ : nullptr);
  snapshots_ = std::move(snapshots);
  base_state_ = state.base;
  base_tokens_ = std::move(state.base_tokens);
  base_recent_ = std::move(base_recent);
  base_text_ = std::move(state.base_text);
  messages_ = std::move(state.messages);
  tokens_ = std::move(state.tokens);
  pending_ = std::move(state.pending);
  text_ = std::move(state.text);
  turns_ = state.turns;
  reply_open_ = state.reply_open;
}

}  // namespace mamba2::chat
