// Recognising a chat template the way llama.cpp does (src/llama-chat.cpp,
// llm_chat_detect_template): by a built-in name, else by marker strings in the Jinja text, in
// the order llama.cpp tries them. The checks are re-written here; the names are llama.cpp's.
#include "mamba2/chat_template.h"
#include "mamba2/error.h"

namespace mamba2 {
namespace {

// llama.cpp's built-in template names (LLM_CHAT_TEMPLATES).
constexpr std::string_view kBuiltinNames[] = {"chatml",
                                              "llama2",
                                              "llama2-sys",
                                              "llama2-sys-bos",
                                              "llama2-sys-strip",
                                              "mistral-v1",
                                              "mistral-v3",
                                              "mistral-v3-tekken",
                                              "mistral-v7",
                                              "mistral-v7-tekken",
                                              "phi3",
                                              "phi4",
                                              "falcon3",
                                              "zephyr",
                                              "monarch",
                                              "gemma",
                                              "orion",
                                              "openchat",
                                              "vicuna",
                                              "vicuna-orca",
                                              "deepseek",
                                              "deepseek2",
                                              "deepseek3",
                                              "command-r",
                                              "llama3",
                                              "chatglm3",
                                              "chatglm4",
                                              "glmedge",
                                              "minicpm",
                                              "exaone3",
                                              "exaone4",
                                              "rwkv-world",
                                              "granite",
                                              "gigachat",
                                              "megrez",
                                              "yandex",
                                              "bailing",
                                              "llama4",
                                              "smolvlm",
                                              "hunyuan-moe",
                                              "hunyuan-dense",
                                              "kimi-k2",
                                              "dots1"};

std::string_view detect_mistral_or_llama2(const auto& has) {
  if (has("[SYSTEM_PROMPT]")) return "mistral-v7";
  // The official v1, v3 and v3-tekken templates.
  if (has("' [INST] ' + system_message") || has("[AVAILABLE_TOOLS]")) {
    if (has(" [INST]")) return "mistral-v1";
    if (has("\"[INST]\"")) return "mistral-v3-tekken";
    return "mistral-v3";
  }
  if (has("content.strip()")) return "llama2-sys-strip";
  if (has("bos_token + '[INST]")) return "llama2-sys-bos";
  if (has("<<SYS>>")) return "llama2-sys";
  return "llama2";
}

}  // namespace

std::string detect_chat_template(std::string_view text) {
  for (const std::string_view name : kBuiltinNames) {
    if (text == name) return std::string(name);
  }
  const auto has = [&](std::string_view marker) { return text.find(marker) != text.npos; };
  if (has("<|im_start|>")) {
    if (has("<|im_sep|>")) return "phi4";
    return has("<end_of_utterance>") ? "smolvlm" : "chatml";
  }
  if (text.starts_with("mistral") || has("[INST]")) {
    return std::string(detect_mistral_or_llama2(has));
  }
  // The rest of llama.cpp's list, marker by marker.
  const std::pair<std::vector<std::string_view>, std::string_view> families[] = {
      {{"<|assistant|>", "<|end|>"}, "phi3"},
      {{"[gMASK]<sop>"}, "chatglm4"},
      {{"<|assistant|>", "<|user|>", "</s>"}, "falcon3"},
      {{"<|assistant|>", "<|user|>"}, "glmedge"},
      {{"<|{{ item['role'] }}|>", "<|begin_of_image|>"}, "glmedge"},
      {{"<|user|>", "<|endoftext|>"}, "zephyr"},
      {{"bos_token + message['role']"}, "monarch"},
      {{"<start_of_turn>"}, "gemma"},
      {{"'\\n\\nAssistant: ' + eos_token"}, "orion"},
      {{"GPT4 Correct "}, "openchat"},
      {{"USER: ", "ASSISTANT: ", "SYSTEM: "}, "vicuna-orca"},
      {{"USER: ", "ASSISTANT: "}, "vicuna"},
      {{"### Instruction:", "<|EOT|>"}, "deepseek"},
      {{"<|START_OF_TURN_TOKEN|>", "<|USER_TOKEN|>"}, "command-r"},
      {{"<|start_header_id|>", "<|end_header_id|>"}, "llama3"},
      {{"[gMASK]sop"}, "chatglm3"},
      {{"<用户>"}, "minicpm"},
      {{"'Assistant: ' + message['content'] + eos_token"}, "deepseek2"},
      {{"<｜Assistant｜>", "<｜User｜>", "<｜end▁of▁sentence｜>"}, "deepseek3"},
      {{"[|system|]", "[|assistant|]", "[|endofturn|]", "[|tool|]"}, "exaone4"},
      {{"[|system|]", "[|assistant|]", "[|endofturn|]"}, "exaone3"},
      {{"rwkv-world"}, "rwkv-world"},
      {{"{{- 'User: ' + message['content']|trim + '\\n\\n' -}}"}, "rwkv-world"},
      {{"<|start_of_role|>"}, "granite"},
      {{"message['role'] + additional_special_tokens[0] + message['content'] + "
        "additional_special_tokens[1]"},
       "gigachat"},
      {{"<|role_start|>"}, "megrez"},
      {{" Ассистент:"}, "yandex"},
      {{"<role>ASSISTANT</role>", "'HUMAN'"}, "bailing"},
      {{"<|header_start|>", "<|header_end|>"}, "llama4"},
      {{"<|endofuserprompt|>"}, "dots1"},
      {{"<|startoftext|>", "<|extra_4|>"}, "hunyuan-moe"},
      {{"<｜hy_place▁holder▁no▁2｜>", "<｜hy_place▁holder▁no▁3｜>"}, "hunyuan-dense"},
      {{"<|im_assistant|>assistant<|im_middle|>"}, "kimi-k2"},
  };
  for (const auto& [markers, name] : families) {
    bool all = true;
    for (const std::string_view marker : markers) all = all && has(marker);
    if (all) return std::string(name);
  }
  return "";
}

ChatTemplateChoice choose_chat_template(std::string_view name, const TokenizerData* tokenizer) {
  if (name != "auto") return {parse_chat_template(name), ""};
  const std::string text = tokenizer ? tokenizer->chat_template : "";
  if (text.empty()) {
    return {ChatTemplateKind::kPlain,
            "the model names no chat template (tokenizer.chat_template); using plain"};
  }
  const std::string detected = detect_chat_template(text);
  if (detected == "chatml") return {ChatTemplateKind::kChatml, ""};
  if (detected == "mistral-v3") return {ChatTemplateKind::kMistral, ""};
  if (detected.starts_with("mistral") || detected.starts_with("llama2")) {
    return {ChatTemplateKind::kMistral,
            "chat template " + detected + " recognised; using mistral (v3), the nearest we build"};
  }
  if (!detected.empty()) {
    return {ChatTemplateKind::kPlain,
            "chat template " + detected + " recognised but not built here; using plain"};
  }
  return {ChatTemplateKind::kPlain, "chat template not recognised; using plain"};
}

}  // namespace mamba2
