// The generation loop on the embedded byte-level model: the one-session loop equals the steps
// driven by hand, and each way a reply ends leaves the right text, tokens and unprocessed token.
#include "mamba2/generation.h"

#include <gtest/gtest.h>

#include <string>

#include "mamba2/model_loader.h"

namespace mamba2 {
namespace {

struct Fixture {
  std::shared_ptr<const Model> model = load_model(MAMBA2_DEFAULT_MODEL, {}, ThreadingContext(1));
  Tokenizer tokenizer{*model->weights().tokenizer};

  Sampler greedy() const {
    SamplerSettings settings;
    settings.temp = 0;
    return Sampler(settings, generation_mask(model->config(), &tokenizer));
  }

  // The reply's text and how it ended.
  std::pair<std::string, Generation> reply(const std::string& prompt, GenerationOptions options,
                                           Sampler& sampler) const {
    Session session(model, {ThreadingContext(1)});
    Generation generation(&tokenizer, sampler, std::move(options));
    std::string text;
    generate(
        session, tokenizer.encode(prompt), generation,
        [&](std::string_view piece) { text += piece; }, [] { return false; });
    return {text, std::move(generation)};
  }
};

TEST(Generation, TheLoopEqualsStepsDrivenByHand) {
  const Fixture f;
  Sampler sampler = f.greedy();
  const auto [text, generation] = f.reply("Once upon a time", {{}, 40}, sampler);
  EXPECT_EQ(generation.finish_reason(), FinishReason::kMaxTokens);
  EXPECT_EQ(generation.tokens().size(), 40u);
  EXPECT_EQ(text, f.tokenizer.decode(generation.tokens()));

  Sampler by_hand = f.greedy();
  Session session(f.model, {ThreadingContext(1)});
  std::span<const float> logits = session.prefill(f.tokenizer.encode("Once upon a time"));
  std::vector<int32_t> tokens;
  for (int i = 0; i < 40; ++i) {
    tokens.push_back(by_hand.sample(logits));
    by_hand.accept(tokens.back());
    logits = session.decode(tokens.back());
  }
  EXPECT_EQ(generation.tokens(), tokens);
  // The last token ended the reply before the model saw it.
  EXPECT_EQ(generation.unprocessed_token(), tokens.back());
}

TEST(Generation, AStopStringEndsTheReplyAndIsNotShown) {
  const Fixture f;
  Sampler sampler = f.greedy();
  const auto [whole, unstopped] = f.reply("Once upon a time", {{}, 60}, sampler);
  // Stop at the text's second word, wherever the model put it.
  const size_t space = whole.find(' ', 1);
  ASSERT_NE(space, std::string::npos) << whole;
  const std::string stop = whole.substr(space, 3);
  Sampler again = f.greedy();
  const auto [text, generation] = f.reply("Once upon a time", {{stop}, 60}, again);
  EXPECT_EQ(text, whole.substr(0, whole.find(stop)));
  EXPECT_EQ(generation.finish_reason(), FinishReason::kStopString);
  EXPECT_EQ(finish_reason_name(generation.finish_reason()), "stop");
  EXPECT_EQ(generation.unprocessed_token(), generation.tokens().back());
}

TEST(Generation, ZeroMaxTokensSamplesNothingAndCancelPassesOnHeldText) {
  const Fixture f;
  Sampler sampler = f.greedy();
  const auto [text, generation] = f.reply("Once", {{}, 0}, sampler);
  EXPECT_EQ(text, "");
  EXPECT_TRUE(generation.tokens().empty());
  EXPECT_EQ(finish_reason_name(generation.finish_reason()), "length");
  EXPECT_EQ(generation.unprocessed_token(), std::nullopt);

  Sampler cancelled_sampler = f.greedy();
  Generation cancelled(&f.tokenizer, cancelled_sampler, {{"zzz"}, -1});
  Session session(f.model, {ThreadingContext(1)});
  std::string shown;
  int steps = 0;
  generate(
      session, f.tokenizer.encode("Once"), cancelled,
      [&](std::string_view piece) { shown += piece; }, [&] { return ++steps > 5; });
  EXPECT_EQ(cancelled.finish_reason(), FinishReason::kCancelled);
  EXPECT_EQ(cancelled.tokens().size(), 5u);
  EXPECT_EQ(shown, f.tokenizer.decode(cancelled.tokens()));  // nothing held back is lost
  EXPECT_EQ(cancelled.unprocessed_token(), std::nullopt);
}

TEST(Generation, WithoutATokenizerTheTextIsTheIds) {
  const Fixture f;
  Sampler sampler = f.greedy();
  Generation generation(nullptr, sampler, {{"1"}, 3});  // stop strings do not apply
  Session session(f.model, {ThreadingContext(1)});
  std::string text;
  generate(
      session, f.tokenizer.encode("Once"), generation,
      [&](std::string_view piece) { text += piece; }, [] { return false; });
  const auto& ids = generation.tokens();
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(text,
            std::to_string(ids[0]) + " " + std::to_string(ids[1]) + " " + std::to_string(ids[2]));
}

}  // namespace
}  // namespace mamba2
