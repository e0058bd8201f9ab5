// One conversation with a model: each turn's prompt is the whole conversation rendered anew by
// the chat template (so the ids are exactly the template's, e.g. Mistral's system text in the
// last user message), and the model resumes from the longest prefix of it that it holds a state
// for: the state after the last reply, a snapshot taken in an earlier turn, or the system
// prefix's. Replies are sampled and streamed token by token; the whole thing can be saved to or
// restored from a conversation file.
#pragma once

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mamba2/chat_template.h"
#include "mamba2/conversation_state.h"
#include "mamba2/generation.h"
#include "mamba2/model.h"
#include "mamba2/prefix_cache.h"
#include "mamba2/sampler.h"
#include "mamba2/session.h"
#include "mamba2/tokenizer.h"

namespace mamba2::chat {

struct ChatSettings {
  SamplerSettings sampler;
  ChatTemplateKind template_kind = ChatTemplateKind::kPlain;
  std::string system;              // prefilled once
  std::vector<std::string> stops;  // besides the template's own and EOS
  int64_t max_tokens = -1;         // per reply; -1: until EOS, a stop string or Ctrl-C
  // false: every turn prefills its whole prompt from the zero state (what reuse must equal).
  bool reuse_states = true;
  // Where each turn's prompt ids go, as one line after what they cost (nullptr: nowhere).
  std::FILE* prompt_log = nullptr;
};

struct ReplyResult {
  std::vector<int32_t> ids;  // the reply's token ids (EOS not included)
  std::string text;          // as shown
  bool interrupted = false;
};

// The prompt of the last turn and what it cost.
struct TurnStats {
  std::vector<int32_t> prompt;     // every id the reply followed: the whole conversation
  int64_t reused = 0;              // of them, restored from a state the chat held
  int64_t prefilled = 0;           // run through the model this turn (prompt.size() - reused)
  double first_token_seconds = 0;  // from the message (rendering included) to the first token
};

struct ChatStats {
  int64_t prompt_tokens = 0;  // prefilled, over all turns
  int64_t reused_tokens = 0;  // restored instead, over all turns
  double prompt_seconds = 0;
  int64_t generated_tokens = 0;
  double generation_seconds = 0;
  int64_t tokens_so_far = 0;
  int64_t state_bytes = 0;
  int64_t snapshots = 0;  // states held besides the conversation's own
  TurnStats last_turn;
};

class ChatSession {
 public:
  ChatSession(std::shared_ptr<const Model> model, SessionOptions options, ChatSettings settings);

  bool has_tokenizer() const { return tokenizer_.has_value(); }
  // One user turn: a message as text (needs a tokenizer) or as token ids. The reply is written
  // to `out` as it is generated, as text (with a tokenizer) or as space-separated ids.
  ReplyResult reply_to_text(const std::string& message, std::FILE* out);
  ReplyResult reply_to_ids(const std::vector<int32_t>& ids, std::FILE* out);
  // Replaces the conversation by these messages (e.g. read from a file); nothing runs until the
  // next turn renders them. Needs a tokenizer.
  void set_messages(std::vector<ChatMessage> messages);

  void reset();  // back to the state right after the system prefix, without recomputing it
  void save(const std::string& path) const;
  void load(const std::string& path);

  Sampler& sampler() { return sampler_; }
  ChatStats stats() const;
  const Session& session() const { return session_; }
  // The ids the session's state has consumed.
  std::span<const int32_t> consumed() const;

 private:
  // Runs a turn whose whole prompt is `prompt`; `stable` of its ids stay the same in the next
  // turn's rendering, whatever the reply (a snapshot is kept there when it is short of the end).
  ReplyResult run_turn(const std::vector<int32_t>& prompt, size_t stable, std::FILE* out);
  // Restores the longest proper prefix of `prompt` the chat holds a state for; returns its length.
  size_t restore_longest_prefix(std::span<const int32_t> prompt);
  int64_t state_bytes() const;

  std::shared_ptr<const Model> model_;
  Session session_;
  std::optional<Tokenizer> tokenizer_;
  ChatSettings settings_;
  ChatTemplate template_;
  Sampler sampler_;
  uint64_t fingerprint_;
  PrefixCache snapshots_;  // the last turn's states at its stable point and its prompt's end

  // The conversation right after the system prefix, restored by reset().
  std::optional<SessionState> base_state_;
  std::vector<int32_t> base_tokens_;
  std::vector<int32_t> base_recent_;
  std::string base_text_;

  std::vector<ChatMessage> messages_;  // with a tokenizer: the conversation so far
  // The last prompt and its reply (id-only models: every id so far, the prompt of the next turn).
  std::vector<int32_t> tokens_;
  std::vector<int32_t> pending_;  // the end of tokens_ not yet run through the model
  std::string text_;              // the transcript so far
  int64_t turns_ = 0;
  bool reply_open_ = false;  // id turns: the last reply ended without the closing marker

  ChatStats stats_;
  std::chrono::steady_clock::time_point turn_start_;  // when the turn's message came in
};

}  // namespace mamba2::chat
