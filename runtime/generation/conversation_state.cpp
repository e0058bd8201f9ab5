// The conversation file, version 2 (little-endian; version 1 had no messages and snapshots):
//   "MAMBA2CV"  magic, 8 bytes
//   u32         version
//   u32         reserved, 0
//   u64         model fingerprint
//   u64         payload size in bytes
//   payload     the fields of ConversationState, each count or length as a u64 before its items;
//               the sampler settings in SamplerSettings::for_each's order
//   u64         FNV-1a 64 of everything before it
#include "mamba2/conversation_state.h"

#include <cstring>
#include <fstream>
#include <type_traits>

#include "mamba2/error.h"
#include "runtime/generation/conversation_frame.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/fnv1a.h"

namespace mamba2 {
namespace {

constexpr uint32_t kVersion = 2;
// Saved states besides the conversation's own and its base (mamba2-chat keeps two).
constexpr uint64_t kMaxSnapshots = 4;
constexpr size_t kHeaderSize = kConversationHeaderBytes;
constexpr size_t kChecksumSize = kConversationChecksumBytes;
constexpr uint64_t kMaxRngStateBytes = 1 << 16;
constexpr uint64_t kMaxTranscriptBytes =
    uint64_t{1} << 32;  // text, ids and settings  // mt19937_64's text state is about 6 KB

class PayloadWriter {
 public:
  template <class T>
  void value(const T& v) {
    const auto* bytes = reinterpret_cast<const char*>(&v);
    out_.append(bytes, sizeof v);
  }
  template <class T>
  void items(const std::vector<T>& v) {
    value(static_cast<uint64_t>(v.size()));
    out_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  void text(const std::string& s) {
    value(static_cast<uint64_t>(s.size()));
    out_ += s;
  }
  void state(const SessionState& s) {
    value(s.position);
    items(s.conv);
    items(s.ssm);
  }
  std::string& bytes() { return out_; }

 private:
  std::string out_;
};

// Reads fields from the payload, checking every count against the bytes that are left before it
// allocates.
class PayloadReader {
 public:
  PayloadReader(const std::string& where, const char* data, size_t size)
      : where_(where), data_(data), left_(size) {}

  template <class T>
  T value() {
    need(sizeof(T), "a field");
    T v;
    std::memcpy(&v, data_, sizeof v);
    advance(sizeof v);
    return v;
  }
  template <class T>
  std::vector<T> items(const char* what, uint64_t expected_count = UINT64_MAX) {
    const auto count = value<uint64_t>();
    if (expected_count != UINT64_MAX && count != expected_count) {
      throw Error(where_, std::string(what) + " has " + std::to_string(count) +
                              " entries, the model needs " + std::to_string(expected_count));
    }
    if (count > left_ / sizeof(T)) fail(what);
    std::vector<T> v(count);
    // An empty vector's data() may be null, which memcpy must not get even for 0 bytes.
    if (count > 0) std::memcpy(v.data(), data_, count * sizeof(T));
    advance(count * sizeof(T));
    return v;
  }
  std::string text(const char* what, uint64_t max_size = UINT64_MAX) {
    const auto size = value<uint64_t>();
    if (size > max_size) throw Error(where_, std::string(what) + " is implausibly long");
    need(size, what);
    std::string s(data_, size);
    advance(size);
    return s;
  }
  SessionState state(const ModelConfig& config) {
    SessionState s;
    s.position = value<int64_t>();
    if (s.position < 0) throw Error(where_, "negative token position");
    s.conv = items<float>("conv state", static_cast<uint64_t>(conv_state_size(config)));
    s.ssm = items<float>("ssm state", static_cast<uint64_t>(ssm_state_size(config)));
    return s;
  }
  size_t left() const { return left_; }

 private:
  void need(uint64_t size, const char* what) {
    if (size > left_) fail(what);
  }
  [[noreturn]] void fail(const char* what) {
    throw Error(where_, std::string(what) + " extends past the end of the saved conversation");
  }
  void advance(size_t size) {
    data_ += size;
    left_ -= size;
  }

  std::string where_;
  const char* data_;
  size_t left_;
};

void write_sampler(PayloadWriter& out, const SamplerSettings& s) {
  SamplerSettings::for_each(s, [&](const auto& field, const auto&) { out.value(field); });
}

SamplerSettings read_sampler(PayloadReader& in) {
  SamplerSettings s;
  SamplerSettings::for_each(s, [&](auto& field, const auto&) {
    field = in.value<std::remove_cvref_t<decltype(field)>>();
  });
  // The same checks as /set's, so a hand-edited file cannot smuggle in a NaN.
  check_sampler_settings(s);
  return s;
}

void check_ids(const std::string& where, const std::vector<int32_t>& ids,
               const ModelConfig& config) {
  for (int32_t id : ids) {
    if (id < 0 || id >= config.vocab_padded) {
      throw Error(where, "token id " + std::to_string(id) + " is outside the model's vocabulary");
    }
  }
}

uint64_t max_conversation_bytes(const ModelConfig& config) {
  // Two states and the snapshots plus a generous transcript: anything larger is not ours, and is
  // not read into memory.
  const uint64_t state_bytes =
      static_cast<uint64_t>(conv_state_size(config) + ssm_state_size(config)) * sizeof(float);
  return (2 + kMaxSnapshots) * state_bytes + kMaxTranscriptBytes;
}

template <class T>
void put(std::string& out, const T& value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

}  // namespace

std::string frame_conversation(std::string_view payload, uint64_t fingerprint) {
  std::string file(kConversationMagic);
  put(file, kVersion);
  put(file, uint32_t{0});
  put(file, fingerprint);
  put(file, static_cast<uint64_t>(payload.size()));
  file += payload;
  Fnv1a checksum;
  checksum.add(file.data(), file.size());
  put(file, checksum.value());
  return file;
}

std::string encode_conversation(const ConversationState& state, uint64_t fingerprint) {
  PayloadWriter payload;
  payload.state(state.session);
  payload.value(static_cast<uint8_t>(state.base.has_value()));
  if (state.base) payload.state(*state.base);
  payload.items(state.pending);
  write_sampler(payload, state.sampler);
  payload.text(state.rng_state);
  payload.items(state.recent);
  payload.items(state.tokens);
  payload.text(state.text);
  payload.text(state.template_name);
  payload.value(state.turns);
  payload.value(static_cast<uint8_t>(state.reply_open));
  payload.items(state.base_tokens);
  payload.text(state.base_text);
  payload.value(static_cast<uint64_t>(state.messages.size()));
  for (const ChatMessage& message : state.messages) {
    payload.text(message.role);
    payload.text(message.content);
  }
  payload.value(static_cast<uint64_t>(state.snapshots.size()));
  for (const ConversationState::Snapshot& snapshot : state.snapshots) {
    payload.items(snapshot.tokens);
    payload.state(snapshot.state);
  }
  return frame_conversation(payload.bytes(), fingerprint);
}

void save_conversation(const std::filesystem::path& path, const ConversationState& state,
                       uint64_t fingerprint) {
  AtomicFile out(path);
  out.write(std::string_view(encode_conversation(state, fingerprint)));
  out.commit();
}

ConversationState decode_conversation(std::string_view file, uint64_t fingerprint,
                                      const ModelConfig& config, const std::string& where) {
  if (file.size() > max_conversation_bytes(config)) {
    throw Error(where, "implausibly large for a saved conversation of this model");
  }
  if (file.size() < kHeaderSize + kChecksumSize) {
    throw Error(where, "too short to be a saved conversation");
  }
  const char* header = file.data();
  if (std::string_view(header, kConversationMagic.size()) != kConversationMagic) {
    throw Error(where, "not a saved mamba2-chat conversation");
  }
  uint32_t version;
  uint64_t saved_fingerprint, payload_size;
  std::memcpy(&version, header + 8, 4);
  std::memcpy(&saved_fingerprint, header + 16, 8);
  std::memcpy(&payload_size, header + 24, 8);
  if (version != kVersion) {
    throw Error(where, "conversation file version " + std::to_string(version) +
                           ", this program reads version " + std::to_string(kVersion));
  }
  if (payload_size != file.size() - kHeaderSize - kChecksumSize) {
    throw Error(where, "truncated or damaged: the header announces " +
                           std::to_string(payload_size) + " bytes of payload, the file has " +
                           std::to_string(file.size() - kHeaderSize - kChecksumSize));
  }
  uint64_t saved_checksum;
  std::memcpy(&saved_checksum, file.data() + file.size() - kChecksumSize, kChecksumSize);
  Fnv1a checksum;
  checksum.add(file.data(), file.size() - kChecksumSize);
  if (checksum.value() != saved_checksum) throw Error(where, "damaged: checksum mismatch");
  if (saved_fingerprint != fingerprint) {
    throw Error(where, "saved with another model; load it with the model it was saved from");
  }

  PayloadReader payload(where, file.data() + kHeaderSize, static_cast<size_t>(payload_size));
  ConversationState state;
  state.session = payload.state(config);
  if (payload.value<uint8_t>() != 0) state.base = payload.state(config);
  state.pending = payload.items<int32_t>("pending tokens");
  try {
    state.sampler = read_sampler(payload);
  } catch (const Error& bad_setting) {
    throw Error(where, std::string("sampler settings: ") + bad_setting.what());
  }
  state.rng_state = payload.text("random engine state", kMaxRngStateBytes);
  state.recent = payload.items<int32_t>("penalty window");
  state.tokens = payload.items<int32_t>("token ids");
  state.text = payload.text("text");
  state.template_name = payload.text("template name", 64);
  state.turns = payload.value<int64_t>();
  state.reply_open = payload.value<uint8_t>() != 0;
  state.base_tokens = payload.items<int32_t>("system prefix ids");
  state.base_text = payload.text("system prefix text");
  const auto messages = payload.value<uint64_t>();
  // Each message takes at least its two lengths.
  if (messages > payload.left() / 16) throw Error(where, "implausible message count");
  for (uint64_t i = 0; i < messages; ++i) {
    ChatMessage message;
    message.role = payload.text("message role", 16);
    message.content = payload.text("message");
    if (message.role != "system" && message.role != "user" && message.role != "assistant") {
      throw Error(where, "message " + std::to_string(i + 1) + " has an unknown role");
    }
    state.messages.push_back(std::move(message));
  }
  const auto snapshots = payload.value<uint64_t>();
  if (snapshots > kMaxSnapshots) throw Error(where, "implausible snapshot count");
  for (uint64_t i = 0; i < snapshots; ++i) {
    ConversationState::Snapshot snapshot;
    snapshot.tokens = payload.items<int32_t>("snapshot ids");
    snapshot.state = payload.state(config);
    if (snapshot.tokens.empty()) throw Error(where, "a snapshot without ids");
    state.snapshots.push_back(std::move(snapshot));
  }
  if (payload.left() != 0) throw Error(where, "unexpected bytes after the last field");
  for (const auto* ids : {&state.pending, &state.recent, &state.tokens, &state.base_tokens}) {
    check_ids(where, *ids, config);
  }
  for (const ConversationState::Snapshot& snapshot : state.snapshots) {
    check_ids(where, snapshot.tokens, config);
  }
  if (state.turns < 0) throw Error(where, "negative turn count");
  if (state.pending.size() > state.tokens.size()) {
    throw Error(where, "more pending tokens than tokens");
  }
  return state;
}

ConversationState load_conversation(const std::filesystem::path& path, uint64_t fingerprint,
                                    const ModelConfig& config) {
  const std::string where = path.string();
  std::error_code error;
  const uintmax_t file_size = std::filesystem::file_size(path, error);
  if (error) throw Error(where, "cannot read: " + error.message());
  if (file_size > max_conversation_bytes(config)) {
    throw Error(where, "implausibly large for a saved conversation of this model");
  }
  std::ifstream in(path, std::ios::binary);
  // The magic first, so that a large file of another kind is not read into memory.
  std::string file(kConversationMagic.size(), '\0');
  if (file_size < file.size() || !in.read(file.data(), static_cast<std::streamsize>(file.size())) ||
      file != kConversationMagic) {
    throw Error(where, "not a saved mamba2-chat conversation");
  }
  file.resize(static_cast<size_t>(file_size));
  if (!in.read(file.data() + kConversationMagic.size(),
               static_cast<std::streamsize>(file_size - kConversationMagic.size()))) {
    throw Error(where, "cannot read");
  }
  return decode_conversation(file, fingerprint, config, where);
}

}  // namespace mamba2
