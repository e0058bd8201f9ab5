// The container of a saved conversation (layout in conversation_state.cpp): a 32-byte header
// (magic, version, reserved, model fingerprint, payload size), the payload, and an FNV-1a
// checksum of everything before it. Shared with the fuzzer, which frames mutated payloads so
// they reach the field parser.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mamba2 {

inline constexpr std::string_view kConversationMagic = "MAMBA2CV";
inline constexpr size_t kConversationHeaderBytes = 8 + 4 + 4 + 8 + 8;
inline constexpr size_t kConversationChecksumBytes = 8;

// The file bytes for `payload` saved for the model with this fingerprint.
std::string frame_conversation(std::string_view payload, uint64_t fingerprint);

}  // namespace mamba2
