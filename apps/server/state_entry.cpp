#include "server/state_entry.h"

#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cstdio>

#include "mamba2/conversation_state.h"
#include "mamba2/error.h"

namespace mamba2::server {

std::vector<uint64_t> prefix_hashes(uint64_t fingerprint, std::span<const int32_t> tokens) {
  std::vector<uint64_t> hashes(tokens.size() + 1);
  uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a 64's offset basis
  auto add = [&hash](const void* data, size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < size; ++i) hash = (hash ^ bytes[i]) * 0x100000001b3ull;
  };
  add(&fingerprint, sizeof fingerprint);
  hashes[0] = hash;
  for (size_t i = 0; i < tokens.size(); ++i) {
    add(&tokens[i], sizeof tokens[i]);
    hashes[i + 1] = hash;
  }
  return hashes;
}

std::string entry_key(uint64_t fingerprint, int64_t length, uint64_t hash) {
  char key[64];
  std::snprintf(key, sizeof key, "%016" PRIx64 "-%" PRId64 "-%016" PRIx64, fingerprint, length,
                hash);
  return key;
}

namespace {

// An entry is a saved conversation holding only a state and the ids it consumed.
ConversationState as_conversation(std::span<const int32_t> tokens, const SessionState& state) {
  ConversationState entry;
  entry.session = state;
  entry.tokens.assign(tokens.begin(), tokens.end());
  return entry;
}

}  // namespace

std::optional<int64_t> key_length(std::string_view key, uint64_t fingerprint) {
  const std::string prefix = entry_key(fingerprint, 0, 0).substr(0, 17);  // "<fingerprint>-"
  if (!key.starts_with(prefix) || key.size() < prefix.size() + 18) return std::nullopt;
  const std::string_view length = key.substr(prefix.size(), key.size() - prefix.size() - 17);
  const std::string_view hash = key.substr(key.size() - 16);
  if (key[key.size() - 17] != '-' || length.empty() || length.size() > 12 ||
      !std::ranges::all_of(length, [](char c) { return c >= '0' && c <= '9'; }) ||
      !std::ranges::all_of(hash,
                           [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); })) {
    return std::nullopt;
  }
  int64_t value = 0;
  for (char c : length) value = value * 10 + (c - '0');
  return value;
}

std::string encode_state_entry(const StoreIdentity& identity, std::span<const int32_t> tokens,
                               const SessionState& state) {
  return encode_conversation(as_conversation(tokens, state), identity.fingerprint);
}

void save_state_entry(const std::filesystem::path& path, const StoreIdentity& identity,
                      std::span<const int32_t> tokens, const SessionState& state) {
  save_conversation(path, as_conversation(tokens, state), identity.fingerprint);
}

std::shared_ptr<const SessionState> decode_state_entry(const StoreIdentity& identity,
                                                       std::string_view bytes,
                                                       std::span<const int32_t> tokens,
                                                       const std::string& where) {
  ConversationState entry =
      decode_conversation(bytes, identity.fingerprint, identity.config, where);
  if (!std::ranges::equal(entry.tokens, tokens)) {
    throw Error(where, "holds the state of other tokens (a hash collision or a foreign entry)");
  }
  if (entry.session.position != static_cast<int64_t>(tokens.size())) {
    throw Error(where, "its state's position does not match its tokens");
  }
  return std::make_shared<const SessionState>(std::move(entry.session));
}

int64_t max_state_entry_bytes(const ModelConfig& config, int64_t max_tokens) {
  // The state, the ids, and a few kilobytes of header and default fields.
  return (conv_state_size(config) + ssm_state_size(config)) * int64_t{sizeof(float)} +
         max_tokens * int64_t{sizeof(int32_t)} + (int64_t{1} << 16);
}

}  // namespace mamba2::server
