// Mistral's v3 instruct format for the SentencePiece tokenizer, as mistral-common builds it
// (protocol/instruct/validator.py MistralRequestValidatorV3, normalize.py
// InstructRequestNormalizer, tokens/tokenizers/instruct.py InstructTokenizerV3): the rules
// re-implemented, checked against shared/data/chat-tests/mistral-v3.json.
#include "mamba2/chat_template.h"
#include "mamba2/error.h"

namespace mamba2 {
namespace {

[[noreturn]] void refuse(const std::string& why) { throw Error("conversation", why); }

// What mistral-common's validator accepts for a prompt that asks for the next reply.
void validate(std::span<const ChatMessage> messages) {
  if (messages.empty()) refuse("has no messages");
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string& role = messages[i].role;
    const std::string where = "message " + std::to_string(i + 1);
    if (role != "system" && role != "user" && role != "assistant") {
      refuse(where + " has role '" + role + "' (expected system, user or assistant)");
    }
    if (role == "assistant" && messages[i].content.empty()) {
      refuse(where + " is an assistant message without content");
    }
    if (i > 0 && role == "system" && messages[i - 1].role == "assistant") {
      refuse(where + " is a system message right after an assistant message");
    }
  }
  const std::string& last = messages.back().role;
  if (messages.size() == 1 ? last == "assistant" : last != "user") {
    refuse("ends with a " + last + " message; the prompt for a reply ends with a user message");
  }
}

struct Turn {
  std::string role;
  std::string content;
};

// System messages leave the list (their text is returned, joined); messages of one role in a
// row merge with a blank line between, skipping empty ones, unless a system message stood
// between them; the list starts with a user message, an empty one if need be.
std::vector<Turn> normalize(std::span<const ChatMessage> messages, std::string& system) {
  std::vector<Turn> turns;
  bool separated = true;
  for (const ChatMessage& message : messages) {
    if (message.role == "system") {
      if (!message.content.empty()) system += (system.empty() ? "" : "\n\n") + message.content;
      separated = true;
      continue;
    }
    if (separated || turns.back().role != message.role) {
      turns.push_back({message.role, message.content});
    } else if (!message.content.empty()) {
      std::string& content = turns.back().content;
      content += (content.empty() ? "" : "\n\n") + message.content;
    }
    separated = false;
  }
  if (turns.empty() || turns.front().role != "user") turns.insert(turns.begin(), {"user", ""});
  return turns;
}

std::string without_trailing_spaces(std::string text) {
  text.erase(text.find_last_not_of(' ') + 1);
  return text;
}

}  // namespace

ChatPrompt ChatTemplate::mistral_conversation(std::span<const ChatMessage> messages) const {
  validate(messages);
  std::string system;
  const std::vector<Turn> turns = normalize(messages, system);
  size_t last_user = 0;
  for (size_t i = 0; i < turns.size(); ++i) {
    if (turns[i].role == "user") last_user = i;
  }
  ChatPrompt prompt;
  prompt.control(bos_text_);
  for (size_t i = 0; i < turns.size(); ++i) {
    const Turn& turn = turns[i];
    if (turn.role == "user") {
      // v2 and v3 put the system prompt into the last user message (v1 into the first).
      const bool with_system = i == last_user && !system.empty();
      prompt.control("[INST]")
          .text(with_system ? system + "\n\n" + turn.content : turn.content)
          .control("[/INST]");
    } else {
      prompt.text(without_trailing_spaces(turn.content)).control(eos_text_);
    }
  }
  return prompt;
}

}  // namespace mamba2
