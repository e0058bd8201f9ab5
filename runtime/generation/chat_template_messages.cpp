#include <nlohmann/json.hpp>

#include "mamba2/chat_template.h"
#include "mamba2/error.h"

namespace mamba2 {

std::vector<ChatMessage> parse_chat_messages(std::string_view json, const std::string& where) {
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(json);
  } catch (const nlohmann::json::exception& e) {
    throw Error(where, std::string("not valid JSON: ") + e.what());
  }
  const nlohmann::json* list = &root;
  if (root.is_object() && root.contains("messages")) list = &root.at("messages");
  if (!list->is_array()) {
    throw Error(where, "expected a list of messages, or an object with \"messages\"");
  }
  std::vector<ChatMessage> messages;
  for (size_t i = 0; i < list->size(); ++i) {
    const nlohmann::json& message = (*list)[i];
    const std::string what = "message " + std::to_string(i + 1);
    if (!message.is_object() || !message.contains("role") || !message.at("role").is_string() ||
        !message.contains("content") || !message.at("content").is_string()) {
      throw Error(where, what + " is not {\"role\": \"...\", \"content\": \"...\"}");
    }
    messages.push_back(
        {message.at("role").get<std::string>(), message.at("content").get<std::string>()});
  }
  return messages;
}

}  // namespace mamba2
