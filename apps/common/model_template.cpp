#include "common/model_template.h"

namespace mamba2::apps {

std::optional<Tokenizer> model_tokenizer(const Model& model) {
  if (!model.weights().tokenizer) return std::nullopt;
  return Tokenizer(*model.weights().tokenizer, model.weights().name);
}

ChatTemplate model_chat_template(ChatTemplateKind kind, const Tokenizer* tokenizer) {
  return tokenizer == nullptr ? ChatTemplate(kind) : ChatTemplate(kind, *tokenizer);
}

}  // namespace mamba2::apps
