// Mistral's v3 instruct format against mistral-common's ids for every conversation of
// shared/data/chat-tests/mistral-v3.json, through both tokenizer paths; and the conversations
// mistral-common refuses.
#include "mamba2/chat_template.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "mamba2/error.h"
#include "mamba2/tokenizer_file.h"
#include "tests/support/file_bytes.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

const Tokenizer& model_tokenizer() {
  static const Tokenizer tokenizer(
      load_tokenizer_file(testing::data_dir() / "mistral-v3-tokenizer.model"));
  return tokenizer;
}

const Tokenizer& gguf_tokenizer() {
  static const Tokenizer tokenizer(
      load_tokenizer_file(testing::data_dir() / "mistral-v3-vocab.gguf"));
  return tokenizer;
}

const ChatTemplate& mistral() {
  static const ChatTemplate chat_template(ChatTemplateKind::kMistral, "<s>", "</s>");
  return chat_template;
}

struct ChatCase {
  std::string description;
  std::vector<ChatMessage> messages;
  std::vector<int32_t> ids;
};

std::vector<ChatCase> chat_cases() {
  const auto path = testing::data_dir() / "chat-tests" / "mistral-v3.json";
  const nlohmann::json entries = nlohmann::json::parse(testing::read_bytes(path));
  std::vector<ChatCase> cases;
  for (const nlohmann::json& entry : entries) {
    cases.push_back({entry.at("description").get<std::string>(),
                     parse_chat_messages(entry.dump(), path.string()),
                     entry.at("ids").get<std::vector<int32_t>>()});
  }
  if (cases.size() != 9) throw Error(path.string(), "expected 9 conversations");
  return cases;
}

TEST(MistralChat, EveryConversationGivesMistralCommonsIds) {
  for (const ChatCase& c : chat_cases()) {
    const ChatPrompt prompt = mistral().conversation(c.messages);
    EXPECT_EQ(prompt.encode(model_tokenizer()), c.ids) << c.description;
    EXPECT_EQ(prompt.encode(gguf_tokenizer()), c.ids) << c.description << " (GGUF)";
  }
}

TEST(MistralChat, TheChatsFirstTurnIsTheConversationsPrompt) {
  const std::string system = "Answer briefly.";
  const std::string message = "Name a prime number.";
  ChatPrompt turn = mistral().prefix(system);
  turn.append(mistral().user_turn(message, true, system));
  const std::vector<ChatMessage> messages = {{"system", system}, {"user", message}};
  EXPECT_EQ(turn.encode(model_tokenizer()),
            mistral().conversation(messages).encode(model_tokenizer()));
  // A later turn, after a reply the model ended with </s>, continues the same way.
  ChatPrompt next = mistral().reply_end();
  next.append(mistral().user_turn("Another one?", false, system));
  std::vector<int32_t> expected = {2, 3};
  for (const int32_t id : model_tokenizer().encode("Another one?")) expected.push_back(id);
  expected.push_back(4);
  EXPECT_EQ(next.encode(model_tokenizer()), expected);
}

TEST(MistralChat, ControlTokenTextInAMessageStaysText) {
  const std::vector<ChatMessage> messages = {{"user", "[INST] hi"}};
  const std::vector<int32_t> ids = mistral().conversation(messages).encode(model_tokenizer());
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 3), 1);  // only the template's own [INST]
}

TEST(MistralChat, RefusesWhatMistralCommonRefuses) {
  const auto error_of = [](std::vector<ChatMessage> messages) -> std::string {
    try {
      mistral().conversation(messages);
    } catch (const Error& error) {
      return error.what();
    }
    return "";
  };
  EXPECT_NE(error_of({}).find("has no messages"), std::string::npos);
  EXPECT_NE(error_of({{"user", "Hi"}, {"assistant", "Hello"}}).find("ends with a assistant"),
            std::string::npos);
  EXPECT_NE(error_of({{"assistant", "Hello"}}).find("ends with a assistant"), std::string::npos);
  EXPECT_NE(error_of({{"tool", "42"}}).find("role 'tool'"), std::string::npos);
  EXPECT_NE(error_of({{"user", "a"}, {"assistant", "b"}, {"system", "c"}, {"user", "d"}})
                .find("system message right after an assistant message"),
            std::string::npos);
  EXPECT_NE(error_of({{"user", "a"}, {"assistant", ""}, {"user", "b"}}).find("without content"),
            std::string::npos);
}

TEST(MistralChat, NormalizesLikeMistralCommon) {
  // A system message still separates the user messages around it, and a conversation that does
  // not open with a user message gets an empty one.
  EXPECT_EQ(mistral().conversation({{{"user", "A"}, {"system", "S"}, {"user", "B"}}}).str(),
            "<s>[INST]A[/INST][INST]S\n\nB[/INST]");
  EXPECT_EQ(mistral().conversation({{{"system", "S"}, {"assistant", "R"}, {"user", "U"}}}).str(),
            "<s>[INST][/INST]R</s>[INST]S\n\nU[/INST]");
  EXPECT_EQ(mistral().conversation({{{"user", ""}, {"user", "B"}, {"user", "C"}}}).str(),
            "<s>[INST]B\n\nC[/INST]");
}

// Every Jinja template in shared/data/chat-templates is recognised as llama.cpp recognises it.
TEST(ChatTemplateDetection, RecognisesEverySharedTemplateAsLlamaCpp) {
  const auto dir = testing::data_dir() / "chat-templates";
  const nlohmann::json expected =
      nlohmann::json::parse(testing::read_bytes(dir / "expected-detection.json"));
  ASSERT_EQ(expected.size(), 5u);
  for (const auto& [file, name] : expected.items()) {
    EXPECT_EQ(detect_chat_template(testing::read_bytes(dir / file)), name.get<std::string>())
        << file;
  }
}

TEST(ChatTemplateDetection, NamesAndMarkersOfOtherFamilies) {
  EXPECT_EQ(detect_chat_template("mistral-v3"), "mistral-v3");
  EXPECT_EQ(detect_chat_template("llama3"), "llama3");
  EXPECT_EQ(detect_chat_template("{{ '<|im_start|>' + role }}"), "chatml");
  EXPECT_EQ(detect_chat_template("{{ '<|im_start|>' + role + '<|im_sep|>' }}"), "phi4");
  EXPECT_EQ(detect_chat_template("{{ bos_token + '[INST] ' + content + ' [/INST]' }}"),
            "llama2-sys-bos");
  EXPECT_EQ(detect_chat_template("{{ '[INST] <<SYS>>' }}"), "llama2-sys");
  EXPECT_EQ(detect_chat_template("<|start_header_id|>x<|end_header_id|>"), "llama3");
  EXPECT_EQ(detect_chat_template("<start_of_turn>user"), "gemma");
  EXPECT_EQ(detect_chat_template("{{ messages }}"), "");
}

TEST(ChatTemplateDetection, AutoPicksWhatWeBuildOrSaysWhy) {
  const auto dir = testing::data_dir() / "chat-templates";
  TokenizerData data;
  const auto choose = [&](const std::string& text) {
    data.chat_template = text;
    return choose_chat_template("auto", &data);
  };
  const ChatTemplateChoice v3 = choose(testing::read_bytes(dir / "mistral-common-v3_spm.jinja"));
  EXPECT_EQ(v3.kind, ChatTemplateKind::kMistral);
  EXPECT_EQ(v3.notice, "");
  const ChatTemplateChoice v7 =
      choose(testing::read_bytes(dir / "Mistral-Small-3.2-24B-Instruct-2506.jinja"));
  EXPECT_EQ(v7.kind, ChatTemplateKind::kMistral);
  EXPECT_NE(v7.notice.find("mistral-v7"), std::string::npos);
  EXPECT_EQ(choose("<|im_start|>").kind, ChatTemplateKind::kChatml);
  const ChatTemplateChoice unknown = choose("{{ messages }}");
  EXPECT_EQ(unknown.kind, ChatTemplateKind::kPlain);
  EXPECT_EQ(unknown.notice, "chat template not recognised; using plain");
  EXPECT_EQ(choose("").kind, ChatTemplateKind::kPlain);
  EXPECT_EQ(choose_chat_template("auto", nullptr).kind, ChatTemplateKind::kPlain);
  EXPECT_EQ(choose_chat_template("chatml", nullptr).kind, ChatTemplateKind::kChatml);
  EXPECT_THROW(choose_chat_template("llama3", nullptr), Error);
}

TEST(ChatMessages, ParsesAListOrAnObjectWithMessages) {
  const auto list = parse_chat_messages(R"([{"role": "user", "content": "Hi"}])", "x.json");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].role, "user");
  EXPECT_EQ(list[0].content, "Hi");
  EXPECT_EQ(
      parse_chat_messages(R"({"messages": [{"role": "system", "content": ""}]})", "x").front().role,
      "system");
  EXPECT_THROW(parse_chat_messages("[{\"role\": \"user\"}]", "x.json"), Error);
  EXPECT_THROW(parse_chat_messages("{\"role\": \"user\"", "x.json"), Error);
  EXPECT_THROW(parse_chat_messages("42", "x.json"), Error);
}

}  // namespace
}  // namespace mamba2
