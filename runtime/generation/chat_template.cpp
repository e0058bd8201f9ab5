#include "mamba2/chat_template.h"

#include "mamba2/error.h"

namespace mamba2 {

ChatTemplateKind parse_chat_template(std::string_view name) {
  if (name == "plain") return ChatTemplateKind::kPlain;
  if (name == "chatml") return ChatTemplateKind::kChatml;
  if (name == "mistral") return ChatTemplateKind::kMistral;
  throw Error("--template", "expected plain, chatml or mistral, found '" + std::string(name) + "'");
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

std::string ChatTemplate::prefix(std::string_view system) const {
  const std::string sys(system);
  switch (kind_) {
    case ChatTemplateKind::kPlain:
      return sys.empty() ? "" : sys + "\n";
    case ChatTemplateKind::kChatml:
      return sys.empty() ? "" : "<|im_start|>system\n" + sys + "<|im_end|>\n";
    case ChatTemplateKind::kMistral:
      // Mistral puts the system text inside the first [INST], before the message.
      return bos_text_ + (sys.empty() ? "" : "[INST] " + sys + "\n\n");
  }
  return "";
}

std::string ChatTemplate::user_turn(std::string_view message, bool first, bool has_system) const {
  const std::string msg(message);
  switch (kind_) {
    case ChatTemplateKind::kPlain:
      return msg;
    case ChatTemplateKind::kChatml:
      return "<|im_start|>user\n" + msg + "<|im_end|>\n<|im_start|>assistant\n";
    case ChatTemplateKind::kMistral:
      return (first && has_system ? "" : "[INST] ") + msg + " [/INST]";
  }
  return msg;
}

std::string ChatTemplate::reply_end() const {
  switch (kind_) {
    case ChatTemplateKind::kPlain:
      return "";
    case ChatTemplateKind::kChatml:
      return "<|im_end|>\n";
    case ChatTemplateKind::kMistral:
      return eos_text_;
  }
  return "";
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

}  // namespace mamba2
