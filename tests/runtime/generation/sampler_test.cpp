// Each sampler stage against a distribution worked out by hand, then the whole chain.
#include "mamba2/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <type_traits>

#include "mamba2/error.h"

namespace mamba2 {
namespace {

std::vector<TokenCandidate> candidates_of(const std::vector<float>& logits) {
  std::vector<TokenCandidate> out;
  for (size_t i = 0; i < logits.size(); ++i) out.push_back({static_cast<int32_t>(i), logits[i], 0});
  return out;
}

std::vector<TokenCandidate> with_probs(const std::vector<float>& probs) {
  std::vector<TokenCandidate> out;
  for (size_t i = 0; i < probs.size(); ++i) {
    out.push_back({static_cast<int32_t>(i), std::log(probs[i]), probs[i]});
  }
  return out;
}

std::vector<int32_t> ids_of(const std::vector<TokenCandidate>& candidates) {
  std::vector<int32_t> ids;
  for (const auto& c : candidates) ids.push_back(c.id);
  return ids;
}

SamplerSettings neutral() {
  SamplerSettings s;
  s.temp = 1.0f;
  s.top_k = 0;
  s.top_p = 1.0f;
  s.min_p = 0.0f;
  return s;
}

TEST(Sampler, PenaltiesFollowLlamaCpp) {
  auto c = candidates_of({2.0f, -1.0f, 0.5f, 3.0f});
  SamplerSettings s = neutral();
  s.repeat_penalty = 2.0f;
  s.frequency_penalty = 0.1f;
  s.presence_penalty = 0.5f;
  std::vector<int32_t> counts(4, 0);
  const std::vector<int32_t> recent = {0, 0, 1};
  Sampler::apply_penalties(c, recent, s, counts);
  EXPECT_FLOAT_EQ(c[0].logit, 2.0f / 2 - 2 * 0.1f - 0.5f);  // positive: divided
  EXPECT_FLOAT_EQ(c[1].logit, -1.0f * 2 - 0.1f - 0.5f);     // negative: multiplied
  EXPECT_FLOAT_EQ(c[2].logit, 0.5f);
  EXPECT_FLOAT_EQ(c[3].logit, 3.0f);
  EXPECT_EQ(counts, std::vector<int32_t>(4, 0));  // left clean for the next token
}

TEST(Sampler, PenaltiesOffWithAnEmptyWindowSetting) {
  auto c = candidates_of({2.0f, 1.0f});
  SamplerSettings s = neutral();
  s.repeat_penalty = 2.0f;
  s.penalty_last_n = 0;
  std::vector<int32_t> counts(2, 0);
  const std::vector<int32_t> recent = {0};
  Sampler::apply_penalties(c, recent, s, counts);
  EXPECT_FLOAT_EQ(c[0].logit, 2.0f);
}

TEST(Sampler, TopKKeepsTheHighestSortedLowerIdFirstOnTies) {
  auto c = candidates_of({1, 4, 2, 3});
  Sampler::top_k(c, 2);
  EXPECT_EQ(ids_of(c), (std::vector<int32_t>{1, 3}));
  auto ties = candidates_of({1, 1, 1});
  Sampler::top_k(ties, 2);
  EXPECT_EQ(ids_of(ties), (std::vector<int32_t>{0, 1}));
  auto all = candidates_of({1, 4, 2, 3});
  Sampler::top_k(all, 0);  // off: everything, sorted
  EXPECT_EQ(ids_of(all), (std::vector<int32_t>{1, 3, 2, 0}));
}

TEST(Sampler, SoftmaxOfLogProbabilities) {
  auto c = candidates_of({std::log(5.0f), std::log(2.0f), std::log(1.0f)});
  Sampler::softmax(c);
  EXPECT_NEAR(c[0].prob, 5.0 / 8, 1e-6);
  EXPECT_NEAR(c[1].prob, 2.0 / 8, 1e-6);
  EXPECT_NEAR(c[2].prob, 1.0 / 8, 1e-6);
}

TEST(Sampler, TopPKeepsTheSmallestPrefixReachingP) {
  const std::vector<float> probs = {0.5f, 0.3f, 0.15f, 0.05f};
  for (auto [p, keep] : {std::pair{0.4f, 1}, {0.7f, 2}, {0.85f, 3}, {0.99f, 4}, {1.0f, 4}}) {
    auto c = with_probs(probs);
    Sampler::top_p(c, p);
    EXPECT_EQ(c.size(), static_cast<size_t>(keep)) << "p = " << p;
  }
}

TEST(Sampler, MinPKeepsTokensWithinAFractionOfTheBest) {
  const std::vector<float> probs = {0.5f, 0.3f, 0.15f, 0.05f};
  for (auto [p, keep] : {std::pair{0.0f, 4}, {0.2f, 3}, {0.5f, 2}, {0.7f, 1}, {1.0f, 1}}) {
    auto c = with_probs(probs);
    Sampler::min_p(c, p);
    EXPECT_EQ(c.size(), static_cast<size_t>(keep)) << "min_p = " << p;
  }
}

TEST(Sampler, TemperatureScalesLogits) {
  auto c = candidates_of({2.0f, 1.0f});
  Sampler::temperature(c, 0.5f);
  Sampler::softmax(c);
  // softmax(4, 2) = (1, e^-2) / (1 + e^-2)
  EXPECT_NEAR(c[0].prob, 1.0 / (1.0 + std::exp(-2.0)), 1e-6);
  EXPECT_NEAR(c[1].prob, std::exp(-2.0) / (1.0 + std::exp(-2.0)), 1e-6);
}

TEST(Sampler, DrawWalksTheCumulativeDistribution) {
  const auto c = with_probs({0.5f, 0.3f, 0.2f});
  EXPECT_EQ(Sampler::draw(c, 0.0), 0u);
  EXPECT_EQ(Sampler::draw(c, 0.49), 0u);
  EXPECT_EQ(Sampler::draw(c, 0.51), 1u);
  EXPECT_EQ(Sampler::draw(c, 0.79), 1u);
  EXPECT_EQ(Sampler::draw(c, 0.81), 2u);
  EXPECT_EQ(Sampler::draw(c, 0.999999), 2u);
}

TEST(Sampler, UniformDrawIsTheStandardEngineOnEveryLibrary) {
  std::mt19937_64 engine;  // the standard fixes its 10000th output
  engine.discard(9999);
  EXPECT_EQ(engine(), 9981545732273789042ull);
  std::mt19937_64 a(7), b(7);
  for (int i = 0; i < 1000; ++i) {
    const double u = Sampler::uniform(a);
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
    EXPECT_EQ(u, static_cast<double>(b() >> 11) / 9007199254740992.0);
  }
}

TEST(Sampler, GreedyTakesTheLowestIdOfTheMaximumAndRespectsTheMask) {
  SamplerSettings s = neutral();
  s.temp = 0.0f;
  Sampler sampler(s, {1, 1, 1, 0});
  const std::vector<float> logits = {0.0f, 5.0f, 5.0f, 9.0f};  // 3 is masked
  EXPECT_EQ(sampler.sample(logits), 1);
}

TEST(Sampler, GreedyAppliesPenaltiesFirst) {
  SamplerSettings s = neutral();
  s.temp = 0.0f;
  s.repeat_penalty = 4.0f;
  Sampler sampler(s, {1, 1});
  sampler.accept(0);
  const std::vector<float> logits = {4.0f, 2.0f};  // 4 / 4 = 1 < 2
  EXPECT_EQ(sampler.sample(logits), 1);
}

// Draws many times and compares frequencies with the distribution the chain should leave.
std::vector<double> frequencies(Sampler& sampler, const std::vector<float>& logits, int draws) {
  std::vector<double> counts(logits.size(), 0);
  for (int i = 0; i < draws; ++i) counts[sampler.sample(logits)] += 1;
  for (double& c : counts) c /= draws;
  return counts;
}

TEST(Sampler, WholeChainMatchesTheHandComputedDistribution) {
  // p = (4, 3, 2, 1) / 10, padded id 4 masked. top_k 3 -> (4, 3, 2) / 9; top_p 0.7 -> 4/9 + 3/9
  // reaches it: (4, 3); min_p 0.5 keeps 3/9 >= 2/9; temp 0.5 squares: (16, 9) / 25.
  SamplerSettings s;
  s.top_k = 3;
  s.top_p = 0.7f;
  s.min_p = 0.5f;
  s.temp = 0.5f;
  s.seed = 42;
  Sampler sampler(s, {1, 1, 1, 1, 0});
  const std::vector<float> logits = {std::log(4.0f), std::log(3.0f), std::log(2.0f), std::log(1.0f),
                                     100.0f};
  const auto f = frequencies(sampler, logits, 20000);
  EXPECT_NEAR(f[0], 16.0 / 25, 0.015);
  EXPECT_NEAR(f[1], 9.0 / 25, 0.015);
  EXPECT_EQ(f[2] + f[3] + f[4], 0.0);
}

TEST(Sampler, SameSeedSameTokensAndTheRandomStateRoundTrips) {
  SamplerSettings s = neutral();
  s.seed = 123;
  const std::vector<float> logits = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f};
  Sampler a(s, std::vector<uint8_t>(8, 1)), b(s, std::vector<uint8_t>(8, 1));
  std::vector<int32_t> first, second;
  for (int i = 0; i < 50; ++i) first.push_back(a.sample(logits));
  for (int i = 0; i < 50; ++i) second.push_back(b.sample(logits));
  EXPECT_EQ(first, second);

  const std::string saved = a.rng_state();
  std::vector<int32_t> continued, restored;
  for (int i = 0; i < 20; ++i) continued.push_back(a.sample(logits));
  Sampler c(s, std::vector<uint8_t>(8, 1));
  c.set_rng_state(saved);
  for (int i = 0; i < 20; ++i) restored.push_back(c.sample(logits));
  EXPECT_EQ(continued, restored);
  EXPECT_THROW(c.set_rng_state("not numbers"), Error);

  s.seed = 124;
  Sampler d(s, std::vector<uint8_t>(8, 1));
  std::vector<int32_t> other;
  for (int i = 0; i < 50; ++i) other.push_back(d.sample(logits));
  EXPECT_NE(first, other);
}

TEST(Sampler, PenaltyWindowKeepsTheLastN) {
  SamplerSettings s = neutral();
  s.penalty_last_n = 3;
  Sampler sampler(s, std::vector<uint8_t>(10, 1));
  for (int32_t t : {1, 2, 3, 4, 5}) sampler.accept(t);
  EXPECT_EQ(std::vector<int32_t>(sampler.recent().begin(), sampler.recent().end()),
            (std::vector<int32_t>{3, 4, 5}));
  s.penalty_last_n = 2;
  sampler.set_settings(s);
  EXPECT_EQ(std::vector<int32_t>(sampler.recent().begin(), sampler.recent().end()),
            (std::vector<int32_t>{4, 5}));
  EXPECT_THROW(sampler.accept(10), Error);
}

// accept(span) keeps what accepting the tokens one by one keeps, however the span compares with
// the window, and a bad token throws after the ones before it are in.
TEST(Sampler, AcceptingASpanEqualsAcceptingEachToken) {
  const auto window = [](const Sampler& sampler) {
    return std::vector<int32_t>(sampler.recent().begin(), sampler.recent().end());
  };
  for (const int32_t last_n : {0, 1, 3, 8}) {
    SamplerSettings s = neutral();
    s.penalty_last_n = last_n;
    for (const std::vector<int32_t>& tokens :
         {std::vector<int32_t>{}, {4}, {1, 2}, {5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6}}) {
      for (const size_t before : {size_t{0}, size_t{2}, size_t{5}}) {
        Sampler whole(s, std::vector<uint8_t>(10, 1));
        Sampler each(s, std::vector<uint8_t>(10, 1));
        for (size_t i = 0; i < before; ++i) {
          whole.accept(static_cast<int32_t>(i));
          each.accept(static_cast<int32_t>(i));
        }
        whole.accept(tokens);
        for (const int32_t t : tokens) each.accept(t);
        EXPECT_EQ(window(whole), window(each)) << last_n << " " << tokens.size() << " " << before;
      }
    }
    Sampler refused(s, std::vector<uint8_t>(10, 1));
    Sampler prefix(s, std::vector<uint8_t>(10, 1));
    EXPECT_THROW(refused.accept(std::vector<int32_t>{1, 2, 10, 3}), Error);
    prefix.accept(1);
    prefix.accept(2);
    EXPECT_EQ(window(refused), window(prefix)) << last_n;
  }
}

TEST(Sampler, RefusesAMaskWithNothingAllowedAndAWrongRow) {
  EXPECT_THROW(Sampler(neutral(), {0, 0}), Error);
  Sampler sampler(neutral(), {1, 1});
  const std::vector<float> three = {1, 2, 3};
  EXPECT_THROW(sampler.sample(three), Error);
}

TEST(Sampler, MaskWithoutTokenizerIsTheDeclaredVocabulary) {
  ModelConfig config;
  config.vocab_size = 250;
  config.vocab_padded = 256;
  const auto mask = generation_mask(config, nullptr);
  ASSERT_EQ(mask.size(), 256u);
  EXPECT_EQ(mask[249], 1);
  EXPECT_EQ(mask[250], 0);
}

TEST(SamplerSettings, SetByNameAndRefuseNonsense) {
  SamplerSettings s;
  set_sampler_setting(s, "temp", "0.7");
  set_sampler_setting(s, "top-k", "5");
  set_sampler_setting(s, "top_p", "0.5");
  set_sampler_setting(s, "min_p", "0.1");
  set_sampler_setting(s, "repeat_penalty", "1.1");
  set_sampler_setting(s, "presence_penalty", "0.2");
  set_sampler_setting(s, "frequency_penalty", "0.3");
  set_sampler_setting(s, "repeat_last_n", "16");
  set_sampler_setting(s, "seed", "99");
  EXPECT_FLOAT_EQ(s.temp, 0.7f);
  EXPECT_EQ(s.top_k, 5);
  EXPECT_FLOAT_EQ(s.top_p, 0.5f);
  EXPECT_FLOAT_EQ(s.min_p, 0.1f);
  EXPECT_FLOAT_EQ(s.repeat_penalty, 1.1f);
  EXPECT_FLOAT_EQ(s.presence_penalty, 0.2f);
  EXPECT_FLOAT_EQ(s.frequency_penalty, 0.3f);
  EXPECT_EQ(s.penalty_last_n, 16);
  EXPECT_EQ(s.seed, 99u);
  EXPECT_THROW(set_sampler_setting(s, "temperature_x", "1"), Error);
  EXPECT_THROW(set_sampler_setting(s, "temp", "hot"), Error);
  EXPECT_THROW(set_sampler_setting(s, "temp", "nan"), Error);
  EXPECT_THROW(set_sampler_setting(s, "top_p", "1.5"), Error);
  EXPECT_THROW(set_sampler_setting(s, "top_k", "-1"), Error);
  EXPECT_NE(describe_sampler_settings(s).find("top_k = 5"), std::string::npos);
}

TEST(SamplerSettings, DefaultsAndRangesAreTheDeclared) {
  const SamplerSettings defaults;
  SamplerSettings::for_each(defaults, [](const auto& field, const auto& spec) {
    SCOPED_TRACE(spec.name);
    EXPECT_EQ(field, spec.default_value);
    EXPECT_LE(spec.low, spec.default_value);
    EXPECT_LE(spec.default_value, spec.high);
  });
  EXPECT_EQ(defaults.temp, 0.8f);  // llama-cli's
  SamplerSettings by_json_name;
  set_sampler_setting(by_json_name, "temperature", "0.5");
  EXPECT_EQ(by_json_name.temp, 0.5f);
  EXPECT_EQ(sampler_setting_names(),
            "temp, top_k, top_p, min_p, repeat_penalty, presence_penalty, frequency_penalty, "
            "repeat_last_n, seed");
}

// Every setting's bounds are accepted, and a value just past either is refused with the declared
// range in the message.
TEST(SamplerSettings, SetRefusesValuesOutsideTheDeclaredRange) {
  const SamplerSettings defaults;
  SamplerSettings::for_each(defaults, [](const auto&, const auto& spec) {
    using T = std::remove_cvref_t<decltype(spec.low)>;
    SCOPED_TRACE(spec.name);
    SamplerSettings s;
    for (const T bound : {spec.low, spec.high}) {
      set_sampler_setting(s, spec.name, format_setting(bound));
      EXPECT_NE(
          describe_sampler_settings(s).find(std::string(spec.name) + " = " + format_setting(bound)),
          std::string::npos);
    }
    const std::string range =
        "must be between " + format_setting(spec.low) + " and " + format_setting(spec.high);
    for (const T bound : {spec.low, spec.high}) {
      if (bound == std::numeric_limits<T>::lowest() || bound == std::numeric_limits<T>::max()) {
        continue;  // the whole type is the range
      }
      const double step = (bound == spec.low ? -1 : 1) * (std::is_floating_point_v<T> ? 0.5 : 1);
      const T outside = static_cast<T>(bound + step);
      try {
        set_sampler_setting(s, spec.name, format_setting(outside));
        ADD_FAILURE() << "accepted " << format_setting(outside);
      } catch (const Error& error) {
        EXPECT_EQ(error.what(), std::string(spec.name) + ": " + range);
      }
    }
  });
}

}  // namespace
}  // namespace mamba2
