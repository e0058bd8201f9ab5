// One conversation with a model: turns laid out by a chat template, replies sampled and streamed
// token by token, the system prefix's state kept for /reset, and the whole thing saved to or
// restored from a conversation file.
#pragma once

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mamba2/chat_template.h"
#include "mamba2/conversation_state.h"
#include "mamba2/generation.h"
#include "mamba2/model.h"
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
};

struct ReplyResult {
  std::vector<int32_t> ids;  // the reply's token ids (EOS not included)
  bool interrupted = false;
};

struct ChatStats {
  int64_t prompt_tokens = 0;
  double prompt_seconds = 0;
  int64_t generated_tokens = 0;
  double generation_seconds = 0;
  int64_t tokens_so_far = 0;
  int64_t state_bytes = 0;
};

class ChatSession {
 public:
  ChatSession(std::shared_ptr<const Model> model, SessionOptions options, ChatSettings settings);

  bool has_tokenizer() const { return tokenizer_.has_value(); }
  // One user turn: a message as text (needs a tokenizer) or as token ids. The reply is written
  // to `out` as it is generated, as text (with a tokenizer) or as space-separated ids.
  ReplyResult reply_to_text(const std::string& message, std::FILE* out);
  ReplyResult reply_to_ids(const std::vector<int32_t>& ids, std::FILE* out);

  void reset();  // back to the state right after the system prefix, without recomputing it
  void save(const std::string& path) const;
  void load(const std::string& path);

  Sampler& sampler() { return sampler_; }
  ChatStats stats() const;

 private:
  ReplyResult run_turn(std::vector<int32_t> prompt, const std::string& prompt_text, std::FILE* out);
  void apply_template(ChatTemplateKind kind);

  std::shared_ptr<const Model> model_;
  Session session_;
  std::optional<Tokenizer> tokenizer_;
  ChatSettings settings_;
  ChatTemplate template_;
  Sampler sampler_;
  uint64_t fingerprint_;

  // The conversation right after the system prefix, restored by reset().
  std::optional<SessionState> base_state_;
  std::vector<int32_t> base_tokens_;
  std::vector<int32_t> base_recent_;
  std::string base_text_;

  std::vector<int32_t> tokens_;   // every id so far
  std::vector<int32_t> pending_;  // sampled, not yet run through the model
  std::string text_;              // the transcript so far
  int64_t turns_ = 0;
  bool reply_open_ = false;  // the last reply ended without the template's closing marker

  ChatStats stats_;
};

}  // namespace mamba2::chat
