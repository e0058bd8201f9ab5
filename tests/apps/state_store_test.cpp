// The prefix-state stores behind mamba2-server (memory, directory, Redis) through their one
// interface, with states of a small model shape (no model is run): the longest prefix is found,
// a state comes back bit for bit, bounds hold, damaged or foreign entries are ignored, a Redis
// that is gone or mute costs a timeout rather than a hang, concurrent users see only correct
// states, and the writer thread saves in order and calls back only once a state is stored (this
// executable also runs under ThreadSanitizer in scripts/test.sh).
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include "mamba2/error.h"
#include "mamba2/prefix_cache.h"
#include "server/dir_state_store.h"
#include "server/memory_state_store.h"
#include "server/redis_state_store.h"
#include "server/state_entry.h"
#include "server/state_writer.h"
#include "server/tiered_state_cache.h"
#include "tests/apps/redis_process.h"
#include "tests/support/test_paths.h"

namespace mamba2::server {
namespace {

namespace fs = std::filesystem;
using testing::RedisProcess;

StoreIdentity small_identity(uint64_t fingerprint = 0x1234abcd) {
  StoreIdentity identity;
  identity.fingerprint = fingerprint;
  identity.config.d_model = 8;
  identity.config.n_layer = 2;
  identity.config.vocab_size = 50;
  identity.config.d_state = 4;
  identity.config.headdim = 4;
  identity.config.resolve("test");
  return identity;
}

// Ids of a conversation: `n` ids that depend on `seed`.
std::vector<int32_t> ids(int64_t n, int32_t seed) {
  std::vector<int32_t> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(static_cast<int32_t>((seed * 7 + i * 3) % 50));
  return out;
}

// A state that depends on every id it has "consumed", so a wrong restore shows.
SessionState state_after(const ModelConfig& config, std::span<const int32_t> tokens) {
  SessionState state;
  state.position = static_cast<int64_t>(tokens.size());
  state.conv.resize(static_cast<size_t>(conv_state_size(config)));
  state.ssm.resize(static_cast<size_t>(ssm_state_size(config)));
  float h = 1;
  for (int32_t id : tokens) h = h * 1.0001f + static_cast<float>(id);
  for (size_t i = 0; i < state.conv.size(); ++i) state.conv[i] = h + static_cast<float>(i);
  for (size_t i = 0; i < state.ssm.size(); ++i) state.ssm[i] = h - static_cast<float>(i);
  return state;
}

TEST(StateEntry, RoundTripsAndRefusesOtherTokensOrAnotherModel) {
  const StoreIdentity identity = small_identity();
  const auto tokens = ids(10, 1);
  const SessionState state = state_after(identity.config, tokens);
  const std::string bytes = encode_state_entry(identity, tokens, state);
  EXPECT_EQ(*decode_state_entry(identity, bytes, tokens, "entry"), state);
  // The same hash slot holding another prefix's state: what a collision would look like.
  EXPECT_THROW(decode_state_entry(identity, bytes, ids(10, 2), "entry"), Error);
  EXPECT_THROW(decode_state_entry(small_identity(99), bytes, tokens, "entry"), Error);
  EXPECT_THROW(decode_state_entry(identity, bytes.substr(0, bytes.size() - 1), tokens, "entry"),
               Error);
}

TEST(StateEntry, KeysNameTheirModelAndLength) {
  const std::vector<uint64_t> hashes = prefix_hashes(7, ids(5, 1));
  ASSERT_EQ(hashes.size(), 6u);
  EXPECT_NE(hashes[4], hashes[5]);
  EXPECT_NE(prefix_hashes(8, ids(5, 1))[5], hashes[5]);  // another model, another key
  const std::string key = entry_key(7, 5, hashes[5]);
  EXPECT_EQ(key_length(key, 7), 5);
  EXPECT_EQ(key_length(key, 8), std::nullopt);
  EXPECT_EQ(key_length(key.substr(0, key.size() - 1), 7), std::nullopt);
  EXPECT_EQ(key_length("0000000000000007-x-0000000000000000", 7), std::nullopt);
}

// Every backend, made fresh for each test.
class EveryStore : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "redis") {
      if (const std::string why = RedisProcess::missing(); !why.empty()) GTEST_SKIP() << why;
      redis_ = std::make_unique<RedisProcess>();
      ASSERT_TRUE(redis_->ready());
    }
  }
  std::unique_ptr<StateStore> make() {
    if (GetParam() == "memory") return std::make_unique<MemoryStateStore>(int64_t{1} << 30);
    if (GetParam() == "dir") {
      return std::make_unique<DirStateStore>(dir_, identity_, int64_t{1} << 30, 1000);
    }
    RedisOptions options = parse_redis_address(redis_->address());
    options.max_tokens = 1000;
    return std::make_unique<RedisStateStore>(options, identity_);
  }

  const StoreIdentity identity_ = small_identity();
  const fs::path dir_ = testing::scratch_dir();
  std::unique_ptr<RedisProcess> redis_;
};

TEST_P(EveryStore, FindsTheLongestStoredProperPrefix) {
  const auto store = make();
  const auto conversation = ids(40, 1);
  const std::span<const int32_t> all(conversation);
  for (int64_t n : {4, 12, 8})
    store->put(all.first(n), state_after(identity_.config, all.first(n)));
  const auto other = ids(30, 2);  // another conversation's 20-token prefix
  store->put(std::span(other).first(20), state_after(identity_.config, std::span(other).first(20)));

  const auto hit = store->find(all, 0);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->length, 12);
  EXPECT_EQ(*hit->state, state_after(identity_.config, all.first(12)));
  // At least one token is left to run; min_length excludes what a faster tier had.
  EXPECT_EQ(store->find(all.first(12), 0)->length, 8);
  EXPECT_EQ(store->find(all, 12), std::nullopt);
  EXPECT_EQ(store->find(all.first(4), 0), std::nullopt);
  EXPECT_EQ(store->find(ids(40, 3), 0), std::nullopt);
  EXPECT_GE(store->size().entries, 4);
  EXPECT_GT(store->size().bytes, 0);
  EXPECT_EQ(store->errors(), 0);
}

// Threads saving and looking up overlapping conversations: every state found is the one saved
// for exactly that prefix.
TEST_P(EveryStore, ConcurrentSavesAndLookupsSeeOnlyCorrectStates) {
  const auto store = make();
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0}, found{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        const auto conversation = ids(30, (t + round) % 3);
        const std::span<const int32_t> all(conversation);
        const int64_t n = 1 + (t * 7 + round * 5) % 29;
        store->put(all.first(n), state_after(identity_.config, all.first(n)));
        if (const auto hit = store->find(all, 0)) {
          ++found;
          if (*hit->state != state_after(identity_.config, all.first(hit->length))) ++wrong;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(found.load(), 0);
  EXPECT_EQ(store->errors(), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, EveryStore, ::testing::Values("memory", "dir", "redis"),
                         [](const auto& param_info) { return param_info.param; });

TEST(MemoryStateStore, DropsTheLeastRecentlyUsedPastItsBound) {
  const StoreIdentity identity = small_identity();
  const auto a = ids(10, 1), b = ids(10, 2), c = ids(10, 3);
  const int64_t one = PrefixCache::entry_bytes(a, state_after(identity.config, a));
  MemoryStateStore store(2 * one);
  store.put(a, state_after(identity.config, a));
  store.put(b, state_after(identity.config, b));
  const auto longer = [](std::vector<int32_t> v) {
    v.push_back(0);
    return v;
  };
  EXPECT_TRUE(store.find(longer(a), 0));  // a is now the most recent
  store.put(c, state_after(identity.config, c));
  EXPECT_EQ(store.size().entries, 2);
  EXPECT_LE(store.size().bytes, 2 * one);
  EXPECT_TRUE(store.find(longer(a), 0));
  EXPECT_FALSE(store.find(longer(b), 0));
  EXPECT_TRUE(store.find(longer(c), 0));
}

TEST(DirStateStore, AStoreOnTheSameDirectoryFindsWhatTheLastOneSaved) {
  const fs::path dir = testing::scratch_dir();
  const StoreIdentity identity = small_identity();
  const auto conversation = ids(20, 1);
  const std::span<const int32_t> all(conversation);
  DirStateStore(dir, identity, 1 << 30, 1000)
      .put(all.first(10), state_after(identity.config, all.first(10)));
  DirStateStore reopened(dir, identity, 1 << 30, 1000);
  EXPECT_EQ(reopened.size().entries, 1);
  const auto hit = reopened.find(all, 0);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->length, 10);
  EXPECT_EQ(*hit->state, state_after(identity.config, all.first(10)));
  // Another model's store in the same directory sees none of it.
  DirStateStore other(dir, small_identity(99), 1 << 30, 1000);
  EXPECT_EQ(other.size().entries, 0);
  EXPECT_FALSE(other.find(all, 0));
}

TEST(DirStateStore, DamagedTruncatedAndStrayFilesAreIgnored) {
  const fs::path dir = testing::scratch_dir();
  const StoreIdentity identity = small_identity();
  const auto conversation = ids(40, 1);
  const std::span<const int32_t> all(conversation);
  {
    DirStateStore store(dir, identity, 1 << 30, 1000);
    for (int64_t n : {5, 10, 15, 20}) {
      store.put(all.first(n), state_after(identity.config, all.first(n)));
    }
  }
  const auto path_of = [&](int64_t n) {
    const auto hashes = prefix_hashes(identity.fingerprint, all);
    return dir / (entry_key(identity.fingerprint, n, hashes[n]) + ".state");
  };
  // 20: a flipped byte; 15: cut short; 10: the state of other tokens under this key.
  {
    std::fstream file(path_of(20), std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(100);
    file.put('\x7f');
  }
  fs::resize_file(path_of(15), fs::file_size(path_of(15)) / 2);
  const auto other = ids(10, 7);
  save_state_entry(path_of(10), identity, other, state_after(identity.config, other));
  // Stray files: a name that is not a key, a leftover temporary, an empty entry.
  const std::string head = entry_key(identity.fingerprint, 0, 0).substr(0, 17);
  std::ofstream(dir / (head + "junk.state")) << "junk";
  std::ofstream(dir / (head + "3-0000000000000000.state.tmp.abc123")) << "half";
  std::ofstream(dir / (entry_key(identity.fingerprint, 3, 0) + ".state"));
  std::ofstream(dir / "README") << "not ours";

  DirStateStore store(dir, identity, 1 << 30, 1000);
  const auto hit = store.find(all, 0);
  // The damaged entries are skipped one lookup at a time; the good one is found in the end.
  std::optional<StoredState> good = hit;
  for (int tries = 0; tries < 4 && (!good || good->length != 5); ++tries) good = store.find(all, 0);
  ASSERT_TRUE(good);
  EXPECT_EQ(good->length, 5);
  EXPECT_EQ(*good->state, state_after(identity.config, all.first(5)));
  EXPECT_EQ(store.errors(), 3);
  EXPECT_FALSE(fs::exists(path_of(20)));  // removed, not read again
  EXPECT_TRUE(fs::exists(dir / "README"));
  EXPECT_FALSE(fs::exists(dir / (head + "3-0000000000000000.state.tmp.abc123")));
}

TEST(DirStateStore, RemovesTheLeastRecentlyUsedPastItsBound) {
  const fs::path dir = testing::scratch_dir();
  const StoreIdentity identity = small_identity();
  const auto a = ids(10, 1), b = ids(10, 2), c = ids(10, 3);
  const int64_t one =
      static_cast<int64_t>(encode_state_entry(identity, a, state_after(identity.config, a)).size());
  DirStateStore store(dir, identity, 2 * one, 1000);
  store.put(a, state_after(identity.config, a));
  store.put(b, state_after(identity.config, b));
  auto longer = [](std::vector<int32_t> v) {
    v.push_back(0);
    return v;
  };
  EXPECT_TRUE(store.find(longer(a), 0));
  store.put(c, state_after(identity.config, c));
  EXPECT_EQ(store.size().entries, 2);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 2);
  EXPECT_TRUE(store.find(longer(a), 0));
  EXPECT_FALSE(store.find(longer(b), 0));
}

TEST(RedisStateStore, ADamagedOrForeignEntryIsIgnoredAndDeleted) {
  if (const std::string why = RedisProcess::missing(); !why.empty()) GTEST_SKIP() << why;
  RedisProcess redis;
  ASSERT_TRUE(redis.ready());
  const StoreIdentity identity = small_identity();
  RedisOptions options = parse_redis_address(redis.address());
  options.max_tokens = 1000;
  RedisStateStore store(options, identity);
  const auto conversation = ids(20, 1);
  const std::span<const int32_t> all(conversation);
  store.put(all.first(10), state_after(identity.config, all.first(10)));
  const std::string key =
      "mamba2:" + entry_key(identity.fingerprint, 10, prefix_hashes(identity.fingerprint, all)[10]);
  redisContext* raw = redisConnect("127.0.0.1", redis.port());
  ASSERT_TRUE(raw && !raw->err);
  for (const std::string& bad :
       {std::string("garbage"), std::string(size_t{8} << 20, 'x'),  // larger than any entry
        encode_state_entry(identity, ids(10, 5), state_after(identity.config, ids(10, 5))),
        encode_state_entry(small_identity(99), all.first(10),
                           state_after(identity.config, all.first(10)))}) {
    freeReplyObject(redisCommand(raw, "SET %b %b", key.data(), key.size(), bad.data(), bad.size()));
    EXPECT_FALSE(store.find(all, 0));
    auto* exists = static_cast<redisReply*>(redisCommand(raw, "EXISTS %b", key.data(), key.size()));
    EXPECT_EQ(exists->integer, 0);  // deleted
    freeReplyObject(exists);
  }
  redisFree(raw);
  EXPECT_EQ(store.errors(), 4);
}

TEST(RedisStateStore, ARedisThatIsGoneOrMuteIsServedAround) {
  if (const std::string why = RedisProcess::missing(); !why.empty()) GTEST_SKIP() << why;
  const StoreIdentity identity = small_identity();
  const auto conversation = ids(20, 1);
  const std::span<const int32_t> all(conversation);
  const SessionState state = state_after(identity.config, all.first(10));
  {
    // Stopped after the first use: the store fails once, then answers nothing until it retries.
    RedisProcess redis;
    ASSERT_TRUE(redis.ready());
    RedisOptions options = parse_redis_address(redis.address());
    options.timeout_ms = 200;
    RedisStateStore store(options, identity);
    store.put(all.first(10), state);
    EXPECT_TRUE(store.find(all, 0));
    redis.stop();
    EXPECT_FALSE(store.find(all, 0));
    store.put(all.first(12), state_after(identity.config, all.first(12)));
    EXPECT_GE(store.errors(), 1);
  }
  {
    // Listening but never answering: every call ends at the timeout.
    const int mute = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    ASSERT_EQ(bind(mute, reinterpret_cast<sockaddr*>(&address), size), 0);
    ASSERT_EQ(listen(mute, 8), 0);
    ASSERT_EQ(getsockname(mute, reinterpret_cast<sockaddr*>(&address), &size), 0);
    RedisOptions options;
    options.port = ntohs(address.sin_port);
    options.timeout_ms = 100;
    RedisStateStore store(options, identity);
    EXPECT_FALSE(store.find(all, 0));
    store.put(all.first(10), state);
    EXPECT_GE(store.errors(), 1);
    close(mute);
  }
}

TEST(RedisStateStore, AddressesAreHostColonPort) {
  EXPECT_EQ(parse_redis_address("redis.internal:6380").host, "redis.internal");
  EXPECT_EQ(parse_redis_address("[::1]:6380").host, "::1");
  for (const char* bad : {"", "6379", ":6379", "host:", "host:0", "host:70000", "host:63x"}) {
    EXPECT_THROW(parse_redis_address(bad), Error) << bad;
  }
}

// A memory store that is slow to save and records what it holds in the order saved.
class SlowStore final : public StateStore {
 public:
  std::optional<StoredState> find(std::span<const int32_t> tokens, int64_t min_length) override {
    return memory_.find(tokens, min_length);
  }
  void put(std::span<const int32_t> tokens, const SessionState& state) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    memory_.put(tokens, state);
    std::lock_guard lock(mutex_);
    order_.push_back(static_cast<int64_t>(tokens.size()));
  }
  StoreSize size() const override { return memory_.size(); }
  std::vector<int64_t> order() const {
    std::lock_guard lock(mutex_);
    return order_;
  }

 private:
  MemoryStateStore memory_{int64_t{1} << 30};
  mutable std::mutex mutex_;
  std::vector<int64_t> order_;  // lengths saved
};

TEST(StateWriter, SavesInOrderAndCallsBackOnlyOnceStored) {
  const StoreIdentity identity = small_identity();
  const auto conversation = ids(30, 2);
  const std::span<const int32_t> all(conversation);
  SlowStore store;
  std::atomic<int> stored_when_called{0}, called{0};
  {
    StateWriter writer(store);
    // More saves than the queue holds: put() waits for room rather than dropping any.
    for (int64_t n = 1; n <= 3 * int64_t{StateWriter::kMaxPending}; ++n) {
      writer.put({all.begin(), all.begin() + n},
                 std::make_shared<const SessionState>(state_after(identity.config, all.first(n))),
                 [&, n] {
                   const auto hit = store.find(all.first(n + 1), n - 1);
                   if (hit && hit->length == n) ++stored_when_called;
                   ++called;
                 });
    }
  }  // the destructor finishes the queued saves
  const int saves = 3 * static_cast<int>(StateWriter::kMaxPending);
  EXPECT_EQ(called.load(), saves);
  EXPECT_EQ(stored_when_called.load(), saves);
  std::vector<int64_t> expected(static_cast<size_t>(saves));
  for (int i = 0; i < saves; ++i) expected[static_cast<size_t>(i)] = i + 1;
  EXPECT_EQ(store.order(), expected);
}

TEST(TieredStateCache, ASharedSaveIsOnDiskWhenItsCallbackRuns) {
  const fs::path dir = testing::scratch_dir();
  const StoreIdentity identity = small_identity();
  const auto conversation = ids(20, 4);
  const std::span<const int32_t> all(conversation);
  TieredStateCache cache(int64_t{1} << 30,
                         std::make_unique<DirStateStore>(dir, identity, int64_t{1} << 30, 1000));
  std::promise<void> saved;
  std::future<void> done = saved.get_future();
  cache.insert(all.first(12), state_after(identity.config, all.first(12)),
               [&saved] { saved.set_value(); });
  ASSERT_EQ(done.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  // Another replica's store on the same directory has it: the reply could end.
  const auto hit = DirStateStore(dir, identity, int64_t{1} << 30, 1000).find(all, 0);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->length, 12);
  EXPECT_EQ(*hit->state, state_after(identity.config, all.first(12)));
  // Memory has it at once; without a shared store the callback runs at once.
  TieredStateCache memory_only(int64_t{1} << 30);
  bool called = false;
  memory_only.insert(all.first(5), state_after(identity.config, all.first(5)),
                     [&called] { called = true; });
  EXPECT_TRUE(called);
  ASSERT_TRUE(memory_only.find(all));
  EXPECT_EQ(memory_only.find(all)->length, 5);
}

}  // namespace
}  // namespace mamba2::server
