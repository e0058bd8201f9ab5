#include "common/model_template.h"

namespace mamba2::apps {
namespace {

// The literal text of a control token, which the tokenizer turns back into its id.
std::string control_text(const Tokenizer* tokenizer, int32_t id) {
  if (tokenizer == nullptr || id < 0 || id >= tokenizer->size() || !tokenizer->is_control(id)) {
    return "";
  }
  return tokenizer->token_text(id);
}

}  // namespace

std::optional<Tokenizer> model_tokenizer(const Model& model) {
  if (!model.weights().tokenizer) return std::nullopt;
  return Tokenizer(*model.weights().tokenizer, model.weights().name);
}

ChatTemplate model_chat_template(ChatTemplateKind kind, const Tokenizer* tokenizer) {
  if (tokenizer == nullptr) return ChatTemplate(kind);
  return ChatTemplate(kind, control_text(tokenizer, tokenizer->bos_id()),
                      control_text(tokenizer, tokenizer->eos_id()));
}

}  // namespace mamba2::apps
