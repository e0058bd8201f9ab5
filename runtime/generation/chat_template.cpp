#include "mamba2/chat_template.h"

#include "mamba2/error.h"

namespace mamba2 {
namespace {

// The text of a control token, which ChatPrompt::encode turns back into its id; "" for none.
std::string control_text(const Tokenizer& tokenizer, int32_t id) {
  return tokenizer.is_control(id) ? tokenizer.token_text(id) : "";
}

}  // namespace

ChatTemplateKind parse_chat_template(std::string_view name) {
  if (name == "plain") return ChatTemplateKind::kPlain;
  if (name == "chatml") return ChatTemplateKind::kChatml;
  if (name == "mistral" || name == "mistral-v3") return ChatTemplateKind::kMistral;
  throw Error("--template",
              "expected plain, chatml, mistral or auto, found '" + std::string(name) + "'");
}

std::string_view chat_template_name(ChatTemplateKind kind) {
  switch (kind) {
    case ChatTemplateKind::kPlain:
      return "plain";
    case ChatTemplateKind::kChatml:
      return "chatml";
    case ChatTemplateKind::kMistral:
      return "mistral";
  }
  return "plain";
}

ChatTemplate::ChatTemplate(ChatTemplateKind kind, std::string bos_text, std::string eos_text)
    : kind_(kind), bos_text_(std::move(bos_text)), eos_text_(std::move(eos_text)) {}

ChatTemplate::ChatTemplate(ChatTemplateKind kind, const Tokenizer& tokenizer)
    : ChatTemplate(kind, control_text(tokenizer, tokenizer.bos_id()),
                   control_text(tokenizer, tokenizer.eos_id())) {}

ChatPrompt ChatTemplate::prefix(std::string_view system) const {
  const std::string sys(system);
  ChatPrompt prompt;
  switch (kind_) {
    case ChatTemplateKind::kPlain:
      if (!sys.empty()) prompt.text(sys + "\n");
      break;
    case ChatTemplateKind::kChatml:
      if (!sys.empty()) prompt.text("<|im_start|>system\n" + sys + "<|im_end|>\n");
      break;
    case ChatTemplateKind::kMistral:
      // The system text waits for the first [INST]: it is encoded with the message after it.
      prompt.control(bos_text_);
      break;
  }
  return prompt;
}

ChatPrompt ChatTemplate::user_turn(std::string_view message, bool first,
                                   std::string_view system) const {
  const std::string msg(message);
  ChatPrompt prompt;
  switch (kind_) {
    case ChatTemplateKind::kPlain:
      prompt.text(msg);
      break;
    case ChatTemplateKind::kChatml:
      prompt.text("<|im_start|>user\n" + msg + "<|im_end|>\n<|im_start|>assistant\n");
      break;
    case ChatTemplateKind::kMistral:
      prompt.control("[INST]")
          .text(first && !system.empty() ? std::string(system) + "\n\n" + msg : msg)
          .control("[/INST]");
      break;
  }
  return prompt;
}

ChatPrompt ChatTemplate::reply_end() const {
  ChatPrompt prompt;
  switch (kind_) {
    case ChatTemplateKind::kPlain:
      break;
    case ChatTemplateKind::kChatml:
      prompt.text("<|im_end|>\n");
      break;
    case ChatTemplateKind::kMistral:
      prompt.control(eos_text_);
      break;
  }
  return prompt;
}

std::vector<std::string> ChatTemplate::stop_strings() const {
  switch (kind_) {
    case ChatTemplateKind::kPlain:
      return {};
    case ChatTemplateKind::kChatml:
      return {"<|im_end|>", "<|im_start|>"};
    case ChatTemplateKind::kMistral:
      return {"[INST]"};
  }
  return {};
}

ChatPrompt ChatTemplate::conversation(std::span<const ChatMessage> messages) const {
  if (kind_ == ChatTemplateKind::kMistral) return mistral_conversation(messages);
  std::string system;
  for (const ChatMessage& message : messages) {
    if (message.role == "system" && !message.content.empty()) {
      system += (system.empty() ? "" : "\n\n") + message.content;
    }
  }
  ChatPrompt prompt = prefix(system);
  bool first = true;
  for (const ChatMessage& message : messages) {
    if (message.role == "user") {
      prompt.append(user_turn(message.content, first, system));
      first = false;
    } else if (message.role == "assistant") {
      prompt.text(message.content).append(reply_end());
    } else if (message.role != "system") {
      throw Error("conversation",
                  "role '" + message.role + "' is not supported (system, user or assistant)");
    }
  }
  return prompt;
}

}  // namespace mamba2
