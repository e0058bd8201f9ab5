#include "mamba2/stop_strings.h"

#include <gtest/gtest.h>

#include "mamba2/chat_template.h"
#include "mamba2/error.h"

namespace mamba2 {
namespace {

TEST(StopStrings, HoldsBackAPossibleStartAndDropsTheStopString) {
  StopStringFilter filter({"<|im_end|>", "User:"});
  EXPECT_EQ(filter.push("Hello <"), "Hello ");
  EXPECT_EQ(filter.push("|im"), "");
  EXPECT_EQ(filter.push("_end|> more"), "");
  EXPECT_TRUE(filter.stopped());
  EXPECT_EQ(filter.push("after"), "");
}

TEST(StopStrings, ReleasesTextThatTurnsOutNotToBeAStop) {
  StopStringFilter filter({"User:"});
  EXPECT_EQ(filter.push("a Us"), "a ");
  EXPECT_EQ(filter.push("e it"), "Use it");
  EXPECT_EQ(filter.push(" Use"), " ");
  EXPECT_EQ(filter.flush(), "Use");
  EXPECT_FALSE(filter.stopped());
}

TEST(StopStrings, FirstOccurrenceWins) {
  StopStringFilter filter({"bb", "a"});
  EXPECT_EQ(filter.push("xxabb"), "xx");
  EXPECT_TRUE(filter.stopped());
}

TEST(StopStrings, NoStopsPassEverything) {
  StopStringFilter filter;
  EXPECT_EQ(filter.push("abc"), "abc");
  EXPECT_EQ(filter.flush(), "");
}

TEST(ChatTemplate, ChatmlTurns) {
  const ChatTemplate t(ChatTemplateKind::kChatml);
  EXPECT_EQ(t.prefix("Be brief.").str(), "<|im_start|>system\nBe brief.<|im_end|>\n");
  EXPECT_TRUE(t.prefix("").empty());
  EXPECT_EQ(t.user_turn("Hi", true, "Be brief.").str(),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(t.reply_end().str(), "<|im_end|>\n");
  EXPECT_EQ(t.stop_strings().front(), "<|im_end|>");
}

TEST(ChatTemplate, MistralPutsTheSystemInsideTheFirstInst) {
  const ChatTemplate t(ChatTemplateKind::kMistral, "<s>", "</s>");
  EXPECT_EQ(t.prefix("Be brief.").str() + t.user_turn("Hi", true, "Be brief.").str(),
            "<s>[INST]Be brief.\n\nHi[/INST]");
  EXPECT_EQ(t.prefix("").str() + t.user_turn("Hi", true, "").str(), "<s>[INST]Hi[/INST]");
  EXPECT_EQ(t.user_turn("Again", false, "Be brief.").str(), "[INST]Again[/INST]");
  EXPECT_EQ(t.reply_end().str(), "</s>");
}

TEST(ChatTemplate, PlainContinuesTheText) {
  const ChatTemplate t(ChatTemplateKind::kPlain);
  EXPECT_EQ(t.user_turn("Once upon", true, "").str(), "Once upon");
  EXPECT_TRUE(t.stop_strings().empty());
  EXPECT_EQ(parse_chat_template("chatml"), ChatTemplateKind::kChatml);
  EXPECT_EQ(chat_template_name(ChatTemplateKind::kMistral), "mistral");
  EXPECT_THROW(parse_chat_template("llama3"), Error);
}

}  // namespace
}  // namespace mamba2
