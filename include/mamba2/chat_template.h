// How a conversation is laid out for the model. `plain` continues the text as written (base
// models); `chatml` wraps turns in <|im_start|>role ... <|im_end|>; `mistral` is Mistral's v3
// instruct format exactly as mistral-common builds it for the SentencePiece tokenizer
// (Mamba-Codestral): <s>[INST] user[/INST] reply</s>[INST] ...[/INST], with [INST], [/INST], <s>
// and </s> as control tokens and each text between them encoded on its own.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mamba2/tokenizer.h"

namespace mamba2 {

enum class ChatTemplateKind { kPlain, kChatml, kMistral };

// "plain", "chatml", "mistral" (or llama.cpp's name for it, "mistral-v3"); throws Error otherwise.
ChatTemplateKind parse_chat_template(std::string_view name);
std::string_view chat_template_name(ChatTemplateKind kind);

// llama.cpp's name for a chat template (llm_chat_detect_template): `text` is a Jinja template (a
// GGUF's tokenizer.chat_template, tokenizer_config.json's chat_template) or a built-in name;
// the result is "chatml", "mistral-v3", "mistral-v7", "llama2-sys", ..., or "" for none it knows.
std::string detect_chat_template(std::string_view text);

struct ChatTemplateChoice {
  ChatTemplateKind kind;
  std::string notice;  // one line for the user when the choice is not what was asked; or ""
};
// --template NAME: plain, chatml, mistral, or "auto": what the tokenizer's chat_template is
// recognised as (chatml, mistral-v3; other Mistral and Llama 2 families fall back to mistral,
// anything else to plain, with a notice). Throws Error for an unknown NAME.
ChatTemplateChoice choose_chat_template(std::string_view name, const TokenizerData* tokenizer);

// One message of a conversation, OpenAI style.
struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
  bool operator==(const ChatMessage&) const = default;
};

// A list of messages as JSON: [{"role": ..., "content": ...}, ...], or an object holding such a
// list as "messages" (the entries of shared/data/chat-tests). `where` names the text in errors.
std::vector<ChatMessage> parse_chat_messages(std::string_view json, const std::string& where);

// Part of a prompt: text for the tokenizer, and the control tokens the template puts between.
class ChatPrompt {
 public:
  ChatPrompt& text(std::string_view text);
  // A control token by its text ("[INST]"). A tokenizer without such a control token reads the
  // text as text.
  ChatPrompt& control(std::string_view text);
  ChatPrompt& append(const ChatPrompt& other);

  bool empty() const { return pieces_.empty(); }
  // The prompt as one string, control tokens written as their text (for transcripts).
  std::string str() const;
  // The ids: each control token's id, and each run of text between them encoded on its own
  // (so a SentencePiece tokenizer gives every run its dummy-prefix space, as mistral-common).
  std::vector<int32_t> encode(const Tokenizer& tokenizer) const;

 private:
  struct Piece {
    std::string text;
    bool control;
  };
  std::vector<Piece> pieces_;
};

class ChatTemplate {
 public:
  // bos_text / eos_text: the text of the tokenizer's BOS and EOS control tokens ("" if none).
  explicit ChatTemplate(ChatTemplateKind kind, std::string bos_text = "",
                        std::string eos_text = "");
  // With the texts of the tokenizer's BOS and EOS, where they are control tokens.
  ChatTemplate(ChatTemplateKind kind, const Tokenizer& tokenizer);

  ChatTemplateKind kind() const { return kind_; }

  // The parts of a conversation (conversation() builds chatml and plain from them):
  // What every rendering starts with (mamba2-chat prefills it once and keeps it for /reset); may
  // be empty.
  ChatPrompt prefix(std::string_view system) const;
  // One user message and the opening of the reply. `first` is the first turn after prefix().
  // For mistral this is one [INST] on its own, the system text in it when `first` (mistral-common
  // puts it into the last user message: conversation() does, and mamba2-chat renders every turn
  // with it).
  ChatPrompt user_turn(std::string_view message, bool first, std::string_view system) const;
  // What closes a reply that did not end with the template's own end marker (e.g. at -n or at
  // EOS), so the next turn starts cleanly.
  ChatPrompt reply_end() const;
  // Strings that end a reply besides EOS: the markers of the next turn.
  std::vector<std::string> stop_strings() const;

  // A whole conversation, ending with a user message, as the prompt for the next reply. mistral:
  // mistral-common's v3 encoding (system messages joined into the last user message, messages of
  // one role in a row merged, assistant replies right-stripped of spaces and closed by </s>);
  // throws Error for a conversation mistral-common refuses. Other templates: the turns above.
  ChatPrompt conversation(std::span<const ChatMessage> messages) const;

 private:
  ChatPrompt mistral_conversation(std::span<const ChatMessage> messages) const;

  ChatTemplateKind kind_;
  std::string bos_text_;
  std::string eos_text_;
};

}  // namespace mamba2
