// A model's tokenizer and chat template as the front ends use them: the template's BOS and EOS
// markers are the literal text of the tokenizer's control tokens, which encode back to their ids.
#pragma once

#include <optional>

#include "mamba2/chat_template.h"
#include "mamba2/model.h"
#include "mamba2/tokenizer.h"

namespace mamba2::apps {

// The model's tokenizer, if its file has one.
std::optional<Tokenizer> model_tokenizer(const Model& model);
// `tokenizer` may be null (no BOS or EOS markers then).
ChatTemplate model_chat_template(ChatTemplateKind kind, const Tokenizer* tokenizer);

}  // namespace mamba2::apps
