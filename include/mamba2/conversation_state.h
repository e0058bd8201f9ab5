// A conversation saved to a file and restored later, possibly by another process: the recurrent
// state (the whole history, in constant size), the sampler settings and random stream, and the
// text / token ids so far. The file is small, versioned, names the model it belongs to by a
// fingerprint, and ends with a checksum, so a foreign, damaged or truncated file is refused.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mamba2/chat_template.h"
#include "mamba2/model.h"
#include "mamba2/sampler.h"
#include "mamba2/session.h"

namespace mamba2 {

struct ConversationState {
  SessionState session;              // after every token the model has consumed
  std::optional<SessionState> base;  // the state after the system prefix, for /reset
  std::vector<int32_t> pending;      // sampled but not yet consumed (fed before the next turn)
  SamplerSettings sampler;
  std::string rng_state;             // the sampler's random engine (Sampler::rng_state)
  std::vector<int32_t> recent;       // the sampler's penalty window
  std::vector<int32_t> tokens;       // every id so far, prompt and reply alike
  std::string text;                  // the transcript so far (empty for id-only models)
  std::string template_name;         // "plain", "chatml", "mistral"
  int64_t turns = 0;                 // user turns since the system prefix
  bool reply_open = false;           // the last reply still needs the template's closing text
  std::vector<int32_t> base_tokens;  // the ids of the system prefix (`base` has consumed them)
  std::string base_text;             // and its text
  // The conversation as messages, rendered anew each turn (empty for id-only models).
  std::vector<ChatMessage> messages;
  // States kept at earlier points of the conversation, keyed by the ids they consumed, least
  // recently used first: where the next turn may resume when its rendering changes an earlier
  // part (PrefixCache::visit's order).
  struct Snapshot {
    std::vector<int32_t> tokens;
    SessionState state;
    bool operator==(const Snapshot&) const = default;
  };
  std::vector<Snapshot> snapshots;

  bool operator==(const ConversationState&) const = default;
};

// A cheap hash of what makes a model itself: its config, every tensor's name, type and shape, and
// a few bytes of each tensor's data.
uint64_t model_fingerprint(const Model& model);

// The file's bytes, for a store that is not a file (a key-value server).
std::string encode_conversation(const ConversationState& state, uint64_t fingerprint);

// Parses bytes encode_conversation made, with load_conversation's checks; `where` names the
// source in the Error it throws.
ConversationState decode_conversation(std::string_view bytes, uint64_t fingerprint,
                                      const ModelConfig& config, const std::string& where);

// Writes atomically (temporary file, then rename). Throws Error naming the path.
void save_conversation(const std::filesystem::path& path, const ConversationState& state,
                       uint64_t fingerprint);

// Reads a conversation saved for the model with this fingerprint and state sizes. Throws Error
// naming the path for another model, another version, a truncated or damaged file, or sizes the
// model does not have; allocates no more than the file size justifies.
ConversationState load_conversation(const std::filesystem::path& path, uint64_t fingerprint,
                                    const ModelConfig& config);

}  // namespace mamba2
