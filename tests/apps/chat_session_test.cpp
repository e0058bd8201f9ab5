// ChatSession in-process on a Codestral-shaped model (random weights, Mistral's v3 SentencePiece
// vocabulary): each turn's prompt is the whole conversation rendered anew, the state is resumed
// from the longest prefix held, and resuming changes nothing against prefilling every turn from
// the start.
#include "chat/chat_session.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "mamba2/random_model.h"
#include "mamba2/tokenizer.h"
#include "tests/support/test_paths.h"

namespace mamba2::chat {
namespace {

constexpr int32_t kInst = 3;  // [INST] in Mistral's v3 vocabulary

std::shared_ptr<const Model> codestral_shaped() {
  static const std::shared_ptr<const Model> model = [] {
    ModelConfig config;
    config.d_model = 32;
    config.n_layer = 2;
    config.ngroups = 2;
    config.vocab_size = 32768;
    config.tie_embeddings = false;
    config.d_state = 16;
    config.headdim = 16;
    config.chunk_size = 16;
    config.resolve("test");
    ModelWeights weights = make_random_weights(config, 17);
    weights.tokenizer =
        load_sentencepiece_model(testing::data_dir() / "mistral-v3-tokenizer.model");
    return std::make_shared<const Model>(std::move(weights));
  }();
  return model;
}

// Replies go nowhere: the tests look at ids.
struct NullFile {
  std::FILE* file = std::fopen("/dev/null", "w");
  ~NullFile() { std::fclose(file); }
};

ChatSettings settings(const std::string& system, bool reuse, int64_t max_tokens = 6) {
  ChatSettings s;
  s.template_kind = ChatTemplateKind::kMistral;
  s.system = system;
  s.max_tokens = max_tokens;
  s.reuse_states = reuse;
  s.sampler.temp = 0.9f;
  s.sampler.seed = 5;
  return s;
}

SessionOptions one_thread() {
  SessionOptions options;
  options.threading = ThreadingContext(1);
  return options;
}

// Where the n-th [INST] ends (the position after it).
size_t after_inst(const std::vector<int32_t>& ids, int n) {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == kInst && --n == 0) return i + 1;
  }
  return 0;
}

float max_difference(std::span<const float> a, std::span<const float> b) {
  EXPECT_EQ(a.size(), b.size());
  float worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    worst = std::max(worst, std::abs(a[i] - b[i]));
  }
  return worst;
}

const std::vector<std::string> kMessages = {"Name a prime number.", "Another one?",
                                            "And the largest below 100?"};

// The chat-tests conversations: everything before the last user message given as messages, that
// one as the turn; the turn's ids are exactly mistral-common's.
TEST(ChatSession, TurnIdsEqualMistralCommonsVectors) {
  std::ifstream in(testing::data_dir() / "chat-tests" / "mistral-v3.json");
  const auto cases = nlohmann::json::parse(in);
  ASSERT_EQ(cases.size(), 9u);
  NullFile null;
  for (const auto& entry : cases) {
    std::vector<ChatMessage> messages;
    for (const auto& m : entry["messages"]) {
      messages.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
    }
    SCOPED_TRACE(entry.dump().substr(0, 200));
    ASSERT_EQ(messages.back().role, "user");
    const std::string last = messages.back().content;
    messages.pop_back();
    ChatSession session(codestral_shaped(), one_thread(), settings("", true, 1));
    session.set_messages(messages);
    session.reply_to_text(last, null.file);
    EXPECT_EQ(session.stats().last_turn.prompt, entry["ids"].get<std::vector<int32_t>>());
  }
}

// Three turns, with and without a system text: the same prompts and replies whether the chat
// resumes states or prefills every turn from the start, and the resumed state equals the state of
// one prefill of everything the model has consumed.
TEST(ChatSession, ResumingEqualsPrefillingEveryTurnFromTheStart) {
  NullFile null;
  for (const std::string system : {"", "Answer briefly."}) {
    SCOPED_TRACE(system);
    ChatSession reusing(codestral_shaped(), one_thread(), settings(system, true));
    ChatSession fresh(codestral_shaped(), one_thread(), settings(system, false));
    for (const std::string& message : kMessages) {
      const ReplyResult a = reusing.reply_to_text(message, null.file);
      const ReplyResult b = fresh.reply_to_text(message, null.file);
      EXPECT_EQ(a.ids, b.ids);
      EXPECT_EQ(reusing.stats().last_turn.prompt, fresh.stats().last_turn.prompt);
      EXPECT_EQ(fresh.stats().last_turn.reused, 0);

      Session whole(codestral_shaped(), one_thread());
      whole.prefill(reusing.consumed());
      EXPECT_EQ(reusing.session().state().position, whole.state().position);
      EXPECT_LT(max_difference(reusing.session().state().ssm, whole.state().ssm), 1e-4f);
      EXPECT_LT(max_difference(reusing.session().state().conv, whole.state().conv), 1e-5f);
    }
    EXPECT_GT(reusing.stats().reused_tokens, 0);
    EXPECT_LT(reusing.stats().prompt_tokens, fresh.stats().prompt_tokens);
  }
}

// Without a system text a turn's prompt extends the last one: only the new part is prefilled.
// With one, Mistral's format moves the system text into the newest user message, so the chat
// resumes right after the previous [INST] (its snapshot) and prefills the last exchange again.
TEST(ChatSession, PrefillsOnlyWhatTheRenderingChanged) {
  NullFile null;
  {
    // One token per reply, stopped by the budget before the model ran it: the state holds the
    // previous prompt exactly.
    ChatSession session(codestral_shaped(), one_thread(), settings("", true, 1));
    std::vector<int32_t> previous;
    for (const std::string& message : kMessages) {
      session.reply_to_text(message, null.file);
      const TurnStats turn = session.stats().last_turn;
      if (previous.empty()) {
        EXPECT_EQ(turn.reused, 1);  // the BOS prefilled at the start
      } else {
        ASSERT_TRUE(std::ranges::equal(previous, std::span(turn.prompt).first(previous.size())));
        EXPECT_EQ(turn.reused, static_cast<int64_t>(previous.size()));
      }
      EXPECT_EQ(turn.prefilled, static_cast<int64_t>(turn.prompt.size()) - turn.reused);
      previous = turn.prompt;
    }
  }
  {
    ChatSession session(codestral_shaped(), one_thread(), settings("Answer briefly.", true));
    std::vector<int32_t> previous;
    int turns = 0;
    for (const std::string& message : kMessages) {
      session.reply_to_text(message, null.file);
      ++turns;
      const TurnStats turn = session.stats().last_turn;
      // The system text sits in the last [INST] only.
      EXPECT_EQ(std::ranges::count(turn.prompt, kInst), turns);
      if (!previous.empty()) {
        const size_t resume = after_inst(previous, turns - 1);
        ASSERT_TRUE(std::ranges::equal(std::span(previous).first(resume),
                                       std::span(turn.prompt).first(resume)));
        EXPECT_NE(previous[resume], turn.prompt[resume]);  // the system text moved on
        EXPECT_EQ(turn.reused, static_cast<int64_t>(resume));
      }
      EXPECT_EQ(turn.prefilled, static_cast<int64_t>(turn.prompt.size()) - turn.reused);
      previous = turn.prompt;
    }
  }
}

// /save after two turns, /load in another session: the third turn resumes, prefills and replies
// exactly as in the session that was never saved.
TEST(ChatSession, SaveAndLoadContinueTheSameWay) {
  NullFile null;
  const auto path = (testing::scratch_dir() / "chat_session.m2c").string();
  ChatSession whole(codestral_shaped(), one_thread(), settings("Answer briefly.", true));
  whole.reply_to_text(kMessages[0], null.file);
  whole.reply_to_text(kMessages[1], null.file);
  whole.save(path);
  ChatSession resumed(codestral_shaped(), one_thread(), settings("", true));
  resumed.load(path);
  const ReplyResult a = whole.reply_to_text(kMessages[2], null.file);
  const ReplyResult b = resumed.reply_to_text(kMessages[2], null.file);
  EXPECT_EQ(a.ids, b.ids);
  EXPECT_EQ(whole.stats().last_turn.prompt, resumed.stats().last_turn.prompt);
  EXPECT_EQ(whole.stats().last_turn.reused, resumed.stats().last_turn.reused);
  EXPECT_GT(resumed.stats().last_turn.reused, 2);
}

}  // namespace
}  // namespace mamba2::chat
