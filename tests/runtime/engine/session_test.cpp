// The engine on random models: scan paths agree with each other and with the plain reference,
// threads do not change a bit, and states snapshot and restore. Sessions in parallel threads:
// concurrent_sessions_test.cpp.
#include "mamba2/session.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>

#include "mamba2/error.h"
#include "mamba2/perplexity.h"
#include "mamba2/random_model.h"
#include "runtime/engine/scan_choice.h"
#include "tests/runtime/engine/reference_forward.h"
#include "tests/runtime/engine/small_models.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

using testing::random_tokens;
using testing::small_config;
using testing::small_configs;
using testing::small_mamba1_config;

std::shared_ptr<const Model> random_model(const ModelConfig& config, uint64_t seed = 7) {
  return std::make_shared<const Model>(make_random_weights(config, seed));
}

struct PromptRun {
  std::vector<float> logits;  // [tokens, vocab_padded]
  SessionState state;
};

PromptRun run_prompt(std::shared_ptr<const Model> model, const std::vector<int32_t>& tokens,
                     SessionOptions options) {
  Session session(model, options);
  PromptRun run;
  session.prefill(tokens, [&](int64_t position, std::span<const float> logits) {
    EXPECT_EQ(static_cast<size_t>(position) * logits.size(), run.logits.size());
    run.logits.insert(run.logits.end(), logits.begin(), logits.end());
  });
  run.state = session.state();
  return run;
}

// |a - b| <= tol * (1 + max |b|): relative to the scale of the whole array.
void expect_near_relative(const std::vector<float>& actual, const std::vector<float>& expected,
                          double tol) {
  ASSERT_EQ(actual.size(), expected.size());
  double scale = 0;
  for (float value : expected) scale = std::max(scale, std::fabs(double(value)));
  for (size_t i = 0; i < actual.size(); ++i) {
    ASSERT_NEAR(actual[i], expected[i], tol * (1.0 + scale)) << "at " << i;
  }
}

SessionOptions with_scan(ScanMode scan, int threads = 1, int64_t window = 0) {
  SessionOptions options;
  options.scan = scan;
  options.threading = ThreadingContext(threads);
  options.window_chunks = window;
  return options;
}

TEST(Session, ScanPathsAgreeAtEveryBoundaryLength) {
  for (const ModelConfig& config : small_configs()) {
    SCOPED_TRACE(std::string(architecture_name(config.architecture)));
    const auto model = random_model(config);
    const int64_t chunk = config.chunk_size;
    for (int64_t length :
         {int64_t{1}, int64_t{2}, config.d_conv - 1, chunk - 1, chunk, chunk + 1, 3 * chunk + 5}) {
      SCOPED_TRACE("length " + std::to_string(length));
      const auto tokens = random_tokens(length, config.vocab_size, length);
      const PromptRun recurrent = run_prompt(model, tokens, with_scan(ScanMode::kRecurrent));
      // Window 2 makes the longer prompts cross window boundaries too.
      for (ScanMode scan : {ScanMode::kChunked, ScanMode::kAssociative}) {
        SCOPED_TRACE(std::string(scan_mode_name(scan)));
        const PromptRun run = run_prompt(model, tokens, with_scan(scan, 1, 2));
        expect_near_relative(run.logits, recurrent.logits, 1e-4);
        expect_near_relative(run.state.ssm, recurrent.state.ssm, 1e-4);
        expect_near_relative(run.state.conv, recurrent.state.conv, 1e-4);
        EXPECT_EQ(run.state.position, length);
      }
    }
  }
}

TEST(ScanChoice, PieceSizeFollowsThePromptAndTheFasterScanIsKept) {
  // (chunks - 1) / 4 capped at the window, down to a power of two; under 2: not measured.
  EXPECT_EQ(calibration_piece_chunks(8, 8), 0);
  EXPECT_EQ(calibration_piece_chunks(9, 8), 2);
  EXPECT_EQ(calibration_piece_chunks(16, 8), 2);
  EXPECT_EQ(calibration_piece_chunks(17, 8), 4);
  EXPECT_EQ(calibration_piece_chunks(64, 8), 8);
  EXPECT_EQ(calibration_piece_chunks(1000, 8), 8);
  EXPECT_EQ(calibration_piece_chunks(1000, 3), 2);
  EXPECT_EQ(faster_scan(2.0, 1.0), ScanMode::kAssociative);
  EXPECT_EQ(faster_scan(1.0, 2.0), ScanMode::kChunked);
  EXPECT_EQ(faster_scan(1.0, 1.0), ScanMode::kChunked);

  ScanChoices choices;
  const ScanChoiceKey key{2, 256, 0, 8}, other_threads{1, 256, 0, 8};
  EXPECT_FALSE(choices.find(key));
  EXPECT_EQ(choices.record(key, ScanMode::kAssociative), ScanMode::kAssociative);
  EXPECT_EQ(choices.record(key, ScanMode::kChunked), ScanMode::kAssociative);  // first one kept
  EXPECT_EQ(choices.find(key), ScanMode::kAssociative);
  EXPECT_FALSE(choices.find(other_threads));
}

TEST(Session, AutoScanMeasuresOncePerSizeClassAndReusesTheChoice) {
  const testing::FreshTimedChoices fresh;
  for (const ModelConfig& config : small_configs()) {
    SCOPED_TRACE(std::string(architecture_name(config.architecture)));
    const auto model = random_model(config);
    const int64_t chunk = config.chunk_size;
    // 12 chunks + 3: measured on pieces of 2 chunks.
    const auto tokens = random_tokens(12 * chunk + 3, config.vocab_size, 5);
    const ScanChoiceKey key{2, chunk, 0, 2};
    ASSERT_FALSE(model->scan_choices().find(key));

    Session measuring(model, with_scan(ScanMode::kAuto, 2));
    PromptRun measured;
    measuring.prefill(tokens, [&](int64_t, std::span<const float> logits) {
      measured.logits.insert(measured.logits.end(), logits.begin(), logits.end());
    });
    const ScanMode choice = measuring.last_scan();
    ASSERT_TRUE(choice == ScanMode::kChunked || choice == ScanMode::kAssociative);
    EXPECT_EQ(model->scan_choices().find(key), choice);
    // The measured pieces were thrown away: the prompt's bits are the choice's alone.
    const PromptRun chosen = run_prompt(model, tokens, with_scan(choice, 2));
    EXPECT_EQ(measured.logits, chosen.logits);
    EXPECT_EQ(measuring.state(), chosen.state);
    EXPECT_EQ(measuring.state().position, static_cast<int64_t>(tokens.size()));
    // Another process loading the model reads the choice from the machine's file.
    EXPECT_EQ(random_model(config)->scan_choices().find(key), choice);
    EXPECT_FALSE(random_model(config, 8)->scan_choices().find(key));  // another model

    // Another session of the model runs the whole prompt with the choice, measuring nothing.
    const PromptRun again = run_prompt(model, tokens, with_scan(ScanMode::kAuto, 2));
    EXPECT_EQ(again.logits, chosen.logits);
    EXPECT_EQ(again.state, chosen.state);

    // A choice recorded for a size class is what auto runs (the measurement decides alone).
    const ScanChoiceKey one_thread{1, chunk, 0, 2};
    model->scan_choices().record(one_thread, ScanMode::kAssociative);
    const PromptRun recorded = run_prompt(model, tokens, with_scan(ScanMode::kAuto, 1));
    EXPECT_EQ(recorded.logits, run_prompt(model, tokens, with_scan(ScanMode::kAssociative)).logits);

    // Too short to measure (8 chunks): chunked, and nothing recorded.
    const auto short_tokens = random_tokens(8 * chunk, config.vocab_size, 6);
    Session short_session(model, with_scan(ScanMode::kAuto, 3));
    short_session.prefill(short_tokens);
    EXPECT_EQ(short_session.last_scan(), ScanMode::kChunked);
    EXPECT_EQ(run_prompt(model, short_tokens, with_scan(ScanMode::kAuto, 3)).logits,
              run_prompt(model, short_tokens, with_scan(ScanMode::kChunked, 3)).logits);
    EXPECT_FALSE(model->scan_choices().find({3, chunk, 0, 0}));
    short_session.decode(1);
    EXPECT_EQ(short_session.last_scan(), ScanMode::kRecurrent);
  }
}

TEST(Session, OneAndTwoThreadsAreBitIdentical) {
  for (const ModelConfig& config : small_configs()) {
    SCOPED_TRACE(std::string(architecture_name(config.architecture)));
    const auto model = random_model(config);
    const auto tokens = random_tokens(5 * config.chunk_size + 3, config.vocab_size, 11);
    for (ScanMode scan : {ScanMode::kChunked, ScanMode::kAssociative, ScanMode::kRecurrent}) {
      SCOPED_TRACE(std::string(scan_mode_name(scan)));
      const PromptRun one = run_prompt(model, tokens, with_scan(scan, 1));
      const PromptRun two = run_prompt(model, tokens, with_scan(scan, 2));
      EXPECT_EQ(one.logits, two.logits);
      EXPECT_EQ(one.state, two.state);
    }
  }
}

TEST(Session, SnapshotRestoreContinuesIdentically) {
  for (const ModelConfig& config : small_configs()) {
    SCOPED_TRACE(std::string(architecture_name(config.architecture)));
    const auto model = random_model(config);
    const auto prompt = random_tokens(13, config.vocab_size, 3);
    const auto more = random_tokens(9, config.vocab_size, 4);

    Session session(model, with_scan(ScanMode::kChunked, 2));
    session.prefill(prompt);
    const SessionState snapshot = session.state();
    Session copy = session;
    std::vector<float> first;
    for (int32_t token : more) {
      const auto logits = session.decode(token);
      first.insert(first.end(), logits.begin(), logits.end());
    }

    session.set_state(snapshot);
    std::vector<float> again, copied;
    for (int32_t token : more) {
      const auto logits = session.decode(token);
      again.insert(again.end(), logits.begin(), logits.end());
      const auto copy_logits = copy.decode(token);
      copied.insert(copied.end(), copy_logits.begin(), copy_logits.end());
    }
    EXPECT_EQ(first, again);
    EXPECT_EQ(first, copied);
  }
}

TEST(Session, PrefillInPiecesEqualsPrefillAtOnce) {
  for (const ModelConfig& config : small_configs()) {
    SCOPED_TRACE(std::string(architecture_name(config.architecture)));
    const auto model = random_model(config);
    const auto tokens = random_tokens(30, config.vocab_size, 5);
    Session whole(model, with_scan(ScanMode::kChunked));
    const auto whole_logits = whole.prefill(tokens);
    const std::vector<float> expected(whole_logits.begin(), whole_logits.end());

    Session pieces(model, with_scan(ScanMode::kChunked));
    pieces.prefill(std::span(tokens).subspan(0, 11));
    pieces.decode(tokens[11]);
    const auto logits = pieces.prefill(std::span(tokens).subspan(12));
    expect_near_relative(std::vector<float>(logits.begin(), logits.end()), expected, 1e-4);
    EXPECT_EQ(pieces.state().position, 30);
  }
}

// Prefill blocks grow to the longest piece a session has run (ActivationBlock::reserve): a session
// whose blocks are already full-sized gives the same bits as a fresh one whose blocks grow
// piece by piece, short prompt first.
TEST(Session, BlocksGrownByEarlierPromptsDoNotChangeABit) {
  for (const ModelConfig& config : small_configs()) {
    SCOPED_TRACE(std::string(architecture_name(config.architecture)));
    const auto model = random_model(config);
    const int64_t chunk = config.chunk_size;
    const auto short_prompt = random_tokens(3, config.vocab_size, 21);
    const auto long_prompt = random_tokens(3 * chunk + 5, config.vocab_size, 22);
    for (ScanMode scan : {ScanMode::kChunked, ScanMode::kAssociative}) {
      SCOPED_TRACE(std::string(scan_mode_name(scan)));
      for (int threads : {1, 2}) {
        Session grown(model, with_scan(scan, threads, 2));
        grown.prefill(long_prompt);  // every block at its full size
        grown.reset();
        Session fresh(model, with_scan(scan, threads, 2));
        for (Session* session : {&grown, &fresh}) {
          session->prefill(short_prompt);
          session->prefill(long_prompt);
        }
        EXPECT_EQ(grown.state(), fresh.state());
        const auto a = grown.prefill(short_prompt);
        const auto b = fresh.prefill(short_prompt);
        EXPECT_EQ(std::vector<float>(a.begin(), a.end()), std::vector<float>(b.begin(), b.end()));
      }
    }
  }
}

// Every optional Mamba2 and Mamba-1 feature, checked against the plain double-precision reference.
TEST(Session, MatchesThePlainReferenceOnEveryConfigOption) {
  struct Variant {
    const char* name;
    void (*apply)(ModelConfig&);
    ModelConfig (*base)() = small_config;
  };
  const Variant variants[] = {
      {"released defaults", [](ModelConfig&) {}},
      {"d_ssm < d_inner", [](ModelConfig& c) { c.d_ssm = 64; }},
      {"norm_before_gate", [](ModelConfig& c) { c.norm_before_gate = true; }},
      {"no gated rmsnorm", [](ModelConfig& c) { c.rmsnorm = false; }},
      {"dt_limit",
       [](ModelConfig& c) {
         c.dt_min_limit = 0.01f;
         c.dt_max_limit = 0.05f;
       }},
      {"D_has_hdim", [](ModelConfig& c) { c.D_has_hdim = true; }},
      {"biases, no conv bias",
       [](ModelConfig& c) {
         c.proj_bias = true;
         c.conv_bias = false;
       }},
      {"untied lm_head", [](ModelConfig& c) { c.tie_embeddings = false; }},
      {"d_conv 1", [](ModelConfig& c) { c.d_conv = 1; }},
      // Mamba-1; random_model draws A per channel and state entry, so every channel's row of A
      // differs (the fixtures' rows are all alike).
      {"mamba1", [](ModelConfig&) {}, small_mamba1_config},
      {"mamba1 biases, no conv bias, untied",
       [](ModelConfig& c) {
         c.proj_bias = true;
         c.conv_bias = false;
         c.tie_embeddings = false;
       },
       small_mamba1_config},
      {"mamba1 dt_b_c_rms (falcon-mamba)",
       [](ModelConfig& c) {
         c.dt_b_c_rms = true;
         c.dt_b_c_rms_eps = 1e-3f;
       },
       small_mamba1_config},
      {"mamba1 expand 3, d_conv 2, dt_rank auto",
       [](ModelConfig& c) {
         c.expand = 3;
         c.d_conv = 2;
         c.dt_rank = 0;
       },
       small_mamba1_config},
  };
  for (const Variant& variant : variants) {
    SCOPED_TRACE(variant.name);
    ModelConfig config = variant.base();
    config.d_ssm = 0;
    variant.apply(config);
    config.resolve("test");
    const ModelWeights weights = make_random_weights(config, 21);
    testing::ReferenceForward reference(weights);
    const auto tokens = random_tokens(2 * config.chunk_size + 3, config.vocab_size, 8);
    std::vector<float> expected;
    for (int32_t token : tokens) {
      for (double value : reference.step(token)) expected.push_back(static_cast<float>(value));
    }
    const auto model = std::make_shared<const Model>(make_random_weights(config, 21));
    for (ScanMode scan : {ScanMode::kChunked, ScanMode::kAssociative, ScanMode::kRecurrent}) {
      SCOPED_TRACE(std::string(scan_mode_name(scan)));
      const PromptRun run = run_prompt(model, tokens, with_scan(scan, 2, 2));
      expect_near_relative(run.logits, expected, 1e-4);
      std::vector<float> reference_state;
      for (double value : reference.ssm_state()) reference_state.push_back(float(value));
      expect_near_relative(run.state.ssm, reference_state, 1e-4);
    }
  }
}

TEST(Session, RejectsTokensOutsideTheVocabularyAndForeignStates) {
  const ModelConfig config = small_config();
  const auto model = random_model(config);
  Session session(model);
  const int32_t bad[] = {3, static_cast<int32_t>(config.vocab_padded)};
  EXPECT_THROW(session.prefill(bad), Error);
  EXPECT_THROW(session.decode(-1), Error);
  SessionState foreign = session.state();
  foreign.ssm.pop_back();
  EXPECT_THROW(session.set_state(foreign), Error);
  // Position 0 is a sequence's start, whose SSM states prefill takes as zero without reading.
  SessionState started = session.state();
  started.ssm[5] = 0.25f;
  EXPECT_THROW(session.set_state(started), Error);
  started.position = 1;
  EXPECT_NO_THROW(session.set_state(started));
}

TEST(Model, ReportsEachPreparedLayerInOrder) {
  ModelConfig config = small_config();
  config.n_layer = 3;
  std::vector<std::pair<int64_t, int64_t>> reports;
  Model model(make_random_weights(config, 7),
              [&](int64_t done, int64_t total) { reports.emplace_back(done, total); });
  const std::vector<std::pair<int64_t, int64_t>> expected = {{1, 3}, {2, 3}, {3, 3}};
  EXPECT_EQ(reports, expected);
}

TEST(Perplexity, EqualsTheMeanCrossEntropyOfTheLogits) {
  const ModelConfig config = small_config();
  const auto model = random_model(config);
  const auto tokens = random_tokens(21, config.vocab_size, 9);
  const PromptRun run = run_prompt(model, tokens, with_scan(ScanMode::kChunked));
  const auto vocab = static_cast<size_t>(config.vocab_padded);
  double nll = 0;
  for (size_t t = 0; t + 1 < tokens.size(); ++t) {
    double sum = 0;
    for (size_t v = 0; v < vocab; ++v) sum += std::exp(double(run.logits[t * vocab + v]));
    nll += std::log(sum) - run.logits[t * vocab + tokens[t + 1]];
  }
  Session session(model, with_scan(ScanMode::kChunked));
  int64_t last_progress = 0;
  const PerplexityResult result =
      measure_perplexity(session, tokens, 40, [&](int64_t done) { last_progress = done; });
  EXPECT_EQ(result.predicted_tokens, 20);
  EXPECT_NEAR(result.perplexity, std::exp(nll / 20), 1e-6 * std::exp(nll / 20));
  EXPECT_NEAR(result.bits_per_byte, nll / std::log(2.0) / 40, 1e-9);
  EXPECT_EQ(last_progress, 21);
}

}  // namespace
}  // namespace mamba2
