// A prefix state as the shared stores (a directory, Redis) keep it: the token ids a session has
// consumed and its state after them, in the saved-conversation format (versioned, checksummed,
// naming the model by its fingerprint). Its key is derived from the model's fingerprint and a
// hash of the ids; an entry read back is untrusted, so it is checked to hold exactly the ids
// asked for (a hash collision or a foreign entry restores nothing) and a state of the model's
// sizes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mamba2/config.h"
#include "mamba2/session.h"

namespace mamba2::server {

// What makes a state restorable: the model it was computed with.
struct StoreIdentity {
  uint64_t fingerprint = 0;  // model_fingerprint()
  ModelConfig config;
};

// The hash of every prefix of `tokens` at once: prefix_hashes(tokens)[n] covers tokens[0, n).
// FNV-1a over the ids' bytes, seeded with the fingerprint; the same on every machine.
std::vector<uint64_t> prefix_hashes(uint64_t fingerprint, std::span<const int32_t> tokens);

// "<fingerprint>-<length>-<hash>", 16 hex digits each side of the decimal length: the name
// under which a store keeps the state of `length` tokens whose prefix hash is `hash`.
std::string entry_key(uint64_t fingerprint, int64_t length, uint64_t hash);
// The length a well-formed key of this model names; nullopt for another model's key or a name
// that is not a key.
std::optional<int64_t> key_length(std::string_view key, uint64_t fingerprint);

std::string encode_state_entry(const StoreIdentity& identity, std::span<const int32_t> tokens,
                               const SessionState& state);
// The same bytes written to `path` atomically (a temporary file renamed into place).
void save_state_entry(const std::filesystem::path& path, const StoreIdentity& identity,
                      std::span<const int32_t> tokens, const SessionState& state);

// The state in `bytes` if they are an entry for exactly `tokens` on this model; throws Error
// (naming `where`) otherwise.
std::shared_ptr<const SessionState> decode_state_entry(const StoreIdentity& identity,
                                                       std::string_view bytes,
                                                       std::span<const int32_t> tokens,
                                                       const std::string& where);

// The largest entry a model's state can make: a reader refuses anything bigger unread.
int64_t max_state_entry_bytes(const ModelConfig& config, int64_t max_tokens);

}  // namespace mamba2::server
