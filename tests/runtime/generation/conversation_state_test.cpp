// Saved conversations: round trip, and refusal of foreign, damaged, truncated or absurd files.
#include "mamba2/conversation_state.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <type_traits>

#include "mamba2/error.h"
#include "mamba2/model_loader.h"
#include "runtime/io/fnv1a.h"
#include "tests/support/file_bytes.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

using testing::read_bytes;
using testing::write_bytes;

// Rewrites the trailing checksum so a deliberate edit passes it and reaches the later checks.
void fix_checksum(std::string& bytes) {
  Fnv1a hash;
  hash.add(bytes.data(), bytes.size() - 8);
  const uint64_t value = hash.value();
  std::memcpy(bytes.data() + bytes.size() - 8, &value, 8);
}

class ConversationStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = load_model(testing::fixture_dir("tiny"));
    Session session(model_);
    const std::vector<int32_t> prompt = {1, 2, 3, 4, 5};
    session.prefill(prompt);
    state_.session = session.state();
    state_.base = SessionState{std::vector<float>(state_.session.conv.size(), 0.5f),
                               std::vector<float>(state_.session.ssm.size(), 0.25f), 2};
    state_.pending = {7};
    state_.sampler.temp = 0.5f;
    state_.sampler.seed = 77;
    state_.rng_state = "1 2 3";
    state_.recent = {3, 4, 5, 7};
    state_.tokens = {1, 2, 3, 4, 5, 7};
    state_.text = "héllo";
    state_.template_name = "plain";
    state_.turns = 1;
    state_.reply_open = true;
    state_.base_tokens = {1, 2};
    state_.base_text = "h";
    state_.messages = {{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello"}};
    state_.snapshots = {{{1, 2}, state_.session}, {{1, 2, 3, 4}, *state_.base}};
    path_ = testing::scratch_dir() / "conversation.m2c";
    fingerprint_ = model_fingerprint(*model_);
    save_conversation(path_, state_, fingerprint_);
  }

  ConversationState load(const std::filesystem::path& path) {
    return load_conversation(path, fingerprint_, model_->config());
  }

  std::shared_ptr<const Model> model_;
  ConversationState state_;
  std::filesystem::path path_;
  uint64_t fingerprint_ = 0;
};

TEST_F(ConversationStateTest, RoundTripsEveryField) { EXPECT_EQ(load(path_), state_); }

// Found by the conversation_state fuzzer: reading an empty list passed memcpy the null data() of
// an empty vector (undefined even for 0 bytes; clang's UBSan aborts on it).
TEST_F(ConversationStateTest, RoundTripsEmptyLists) {
  state_.base.reset();
  state_.pending.clear();
  state_.recent.clear();
  state_.tokens.clear();
  state_.text.clear();
  state_.base_tokens.clear();
  state_.base_text.clear();
  state_.messages.clear();
  state_.snapshots.clear();
  save_conversation(path_, state_, fingerprint_);
  EXPECT_EQ(load(path_), state_);
}

TEST_F(ConversationStateTest, FingerprintTellsModelsApart) {
  const auto other = load_model(testing::fixture_dir("small_groups"));
  EXPECT_NE(model_fingerprint(*model_), model_fingerprint(*other));
  EXPECT_EQ(model_fingerprint(*model_),
            model_fingerprint(*load_model(testing::fixture_dir("tiny"))));
  try {
    load_conversation(path_, model_fingerprint(*other), other->config());
    FAIL() << "loaded into another model";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("another model"), std::string::npos) << error.what();
  }
}

TEST_F(ConversationStateTest, EveryTruncationIsRefused) {
  const std::string bytes = read_bytes(path_);
  const auto cut = path_.parent_path() / "cut.m2c";
  for (size_t size = 0; size < bytes.size(); size += size < 64 ? 1 : 97) {
    write_bytes(cut, bytes.substr(0, size));
    EXPECT_THROW(load(cut), Error) << size;
  }
}

TEST_F(ConversationStateTest, FlippedBytesAreRefused) {
  const std::string bytes = read_bytes(path_);
  const auto damaged = path_.parent_path() / "damaged.m2c";
  for (size_t at = 0; at < bytes.size(); at += at < 64 ? 1 : 61) {
    std::string copy = bytes;
    copy[at] ^= 0x10;
    write_bytes(damaged, copy);
    EXPECT_THROW(load(damaged), Error) << at;
  }
}

TEST_F(ConversationStateTest, WrongVersionIsNamed) {
  std::string bytes = read_bytes(path_);
  bytes[8] = 1;
  fix_checksum(bytes);
  write_bytes(path_, bytes);
  try {
    load(path_);
    FAIL();
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("version 1, this program reads version 2"),
              std::string::npos)
        << error.what();
  }
}

TEST_F(ConversationStateTest, AbsurdCountsAreRefusedBeforeAllocating) {
  // The pending-token count sits after the two states and the base flag.
  const ModelConfig& c = model_->config();
  const size_t state_bytes = 8 + 8 + 4 * conv_state_size(c) + 8 + 4 * ssm_state_size(c);
  const size_t pending_count_at = 32 + state_bytes + 1 + state_bytes;
  std::string bytes = read_bytes(path_);
  const uint64_t huge = uint64_t{1} << 61;
  std::memcpy(bytes.data() + pending_count_at, &huge, 8);
  fix_checksum(bytes);
  write_bytes(path_, bytes);
  EXPECT_THROW(load(path_), Error);
}

// Each setting at either end of its declared range comes back as saved; a value past its range
// (a hand-edited file) is refused, naming the setting.
TEST_F(ConversationStateTest, EveryDeclaredSamplerSettingRoundTrips) {
  SamplerSettings::for_each(state_.sampler, [&](auto& field, const auto& spec) {
    SCOPED_TRACE(spec.name);
    const auto saved = field;
    for (const auto value : {spec.low, spec.high}) {
      field = value;
      save_conversation(path_, state_, fingerprint_);
      EXPECT_EQ(load(path_), state_);
    }
    if (spec.high < std::numeric_limits<decltype(spec.high)>::max()) {
      field = spec.high + 1;
      save_conversation(path_, state_, fingerprint_);
      try {
        load(path_);
        ADD_FAILURE() << "loaded " << format_setting(field);
      } catch (const Error& error) {
        EXPECT_NE(std::string(error.what()).find(std::string("sampler settings: ") + spec.name),
                  std::string::npos)
            << error.what();
      }
    }
    field = saved;
  });
  state_.sampler.min_p = std::numeric_limits<float>::quiet_NaN();
  save_conversation(path_, state_, fingerprint_);
  EXPECT_THROW(load(path_), Error);
}

// Version 1 keeps the sampler settings as nine fields after the pending tokens: the declaration's
// order must not move them.
TEST_F(ConversationStateTest, SamplerSettingsKeepTheVersion1Layout) {
  state_.sampler.top_k = 7;
  state_.sampler.top_p = 0.5f;
  state_.sampler.min_p = 0.25f;
  state_.sampler.repeat_penalty = 1.5f;
  state_.sampler.presence_penalty = -2.0f;
  state_.sampler.frequency_penalty = 3.0f;
  state_.sampler.penalty_last_n = 9;
  save_conversation(path_, state_, fingerprint_);
  const ModelConfig& c = model_->config();
  const size_t state_bytes = 8 + 8 + 4 * conv_state_size(c) + 8 + 4 * ssm_state_size(c);
  const size_t sampler_at = 32 + state_bytes + 1 + state_bytes + 8 + 4 * state_.pending.size();
  std::string expected;
  auto put = [&](auto value) {
    expected.append(reinterpret_cast<const char*>(&value), sizeof value);
  };
  put(0.5f);
  put(int32_t{7});
  put(0.5f);
  put(0.25f);
  put(1.5f);
  put(-2.0f);
  put(3.0f);
  put(int32_t{9});
  put(uint64_t{77});
  EXPECT_EQ(read_bytes(path_).substr(sampler_at, expected.size()), expected);
}

TEST_F(ConversationStateTest, NotAConversationAndMissingFile) {
  write_bytes(path_, std::string(100, 'x'));
  EXPECT_THROW(load(path_), Error);
  EXPECT_THROW(load(path_.parent_path() / "missing.m2c"), Error);
}

}  // namespace
}  // namespace mamba2
