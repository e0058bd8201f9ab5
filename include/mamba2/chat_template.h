// How a conversation is laid out as text for the model. `plain` continues the text as written (base
// models); `chatml` wraps turns in <|im_start|>role ... <|im_end|>; `mistral` in [INST] ... [/INST]
// (Mamba-Codestral). The system text is a prefix of its own so it can be prefilled once and its
// state kept.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mamba2 {

enum class ChatTemplateKind { kPlain, kChatml, kMistral };

// "plain", "chatml" or "mistral"; throws Error otherwise.
ChatTemplateKind parse_chat_template(std::string_view name);
std::string_view chat_template_name(ChatTemplateKind kind);

class ChatTemplate {
 public:
  // bos_text / eos_text: the literal text of the tokenizer's control tokens ("" if none); the
  // tokenizer turns that text back into the control ids.
  explicit ChatTemplate(ChatTemplateKind kind, std::string bos_text = "",
                        std::string eos_text = "");

  ChatTemplateKind kind() const { return kind_; }
  // Prefilled once at the start (and kept for /reset); may be empty.
  std::string prefix(std::string_view system) const;
  // One user message and the opening of the reply. `first` is the first turn after prefix().
  std::string user_turn(std::string_view message, bool first, bool has_system) const;
  // What closes a reply that did not end with the template's own end marker (e.g. at -n or at
  // EOS), so the next turn starts cleanly.
  std::string reply_end() const;
  // Strings that end a reply besides EOS: the markers of the next turn.
  std::vector<std::string> stop_strings() const;

 private:
  ChatTemplateKind kind_;
  std::string bos_text_;
  std::string eos_text_;
};

}  // namespace mamba2
