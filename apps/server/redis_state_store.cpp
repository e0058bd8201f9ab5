#include "server/redis_state_store.h"

#include <hiredis/hiredis.h>

#include <charconv>
#include <cstdio>

#include "mamba2/error.h"

namespace mamba2::server {
namespace {

void log(const std::string& message) {
  std::fprintf(stderr, "mamba2-server: redis: %s\n", message.c_str());
}

timeval to_timeval(int64_t ms) {
  return {static_cast<time_t>(ms / 1000), static_cast<suseconds_t>(ms % 1000 * 1000)};
}

}  // namespace

// The replies of one pipeline, freed together.
struct RedisStateStore::Replies {
  std::vector<std::unique_ptr<redisReply, void (*)(void*)>> items;

  bool ok() const { return !items.empty(); }
  const redisReply& operator[](size_t i) const { return *items[i]; }
};

RedisOptions parse_redis_address(const std::string& address) {
  RedisOptions options;
  const size_t colon = address.rfind(':');
  int port = 0;
  const char* end = address.data() + address.size();
  if (colon == std::string::npos || colon == 0 ||
      std::from_chars(address.data() + colon + 1, end, port).ptr != end || port < 1 ||
      port > 65535) {
    throw Error("--redis", "expected HOST:PORT, got \"" + address + "\"");
  }
  options.host = address.substr(0, colon);
  // An IPv6 address in brackets, as in a URL.
  if (options.host.size() > 2 && options.host.front() == '[' && options.host.back() == ']') {
    options.host = options.host.substr(1, options.host.size() - 2);
  }
  options.port = port;
  return options;
}

RedisStateStore::RedisStateStore(RedisOptions options, StoreIdentity identity)
    : options_(std::move(options)),
      identity_(std::move(identity)),
      lengths_key_("mamba2:" + entry_key(identity_.fingerprint, 0, 0).substr(0, 16) + ":lengths"),
      max_entry_bytes_(max_state_entry_bytes(identity_.config, options_.max_tokens)) {}

RedisStateStore::~RedisStateStore() {
  if (context_) redisFree(context_);
}

redisContext* RedisStateStore::connection() {
  if (context_) return context_;
  if (std::chrono::steady_clock::now() < retry_at_) return nullptr;
  context_ = redisConnectWithTimeout(options_.host.c_str(), options_.port,
                                     to_timeval(options_.timeout_ms));
  if (!context_ || context_->err) {
    fail(context_ ? context_->errstr : "cannot allocate a connection");
    return nullptr;
  }
  if (redisSetTimeout(context_, to_timeval(options_.timeout_ms)) != REDIS_OK) {
    fail("cannot set the timeout");
    return nullptr;
  }
  log("connected to " + options_.host + ":" + std::to_string(options_.port));
  return context_;
}

void RedisStateStore::fail(const std::string& what) {
  log(options_.host + ":" + std::to_string(options_.port) + ": " + what +
      "; serving without it, connecting again in " + std::to_string(options_.retry_ms) + " ms");
  ++errors_;
  if (context_) redisFree(context_);
  context_ = nullptr;
  retry_at_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.retry_ms);
}

RedisStateStore::Replies RedisStateStore::run(const std::vector<Command>& commands) {
  redisContext* context = connection();
  if (!context) return {};
  std::vector<const char*> argv;
  std::vector<size_t> argv_lengths;
  for (const Command& command : commands) {
    argv.clear();
    argv_lengths.clear();
    for (std::string_view arg : command) {
      argv.push_back(arg.data());
      argv_lengths.push_back(arg.size());
    }
    if (redisAppendCommandArgv(context, static_cast<int>(argv.size()), argv.data(),
                               argv_lengths.data()) != REDIS_OK) {
      fail(context->errstr);
      return {};
    }
  }
  Replies replies;
  bool refused = false;
  // Every reply is read, even after a refusal, so the next pipeline starts in step.
  for (size_t i = 0; i < commands.size(); ++i) {
    void* reply = nullptr;
    if (redisGetReply(context, &reply) != REDIS_OK || !reply) {
      fail(context->errstr[0] ? context->errstr : "no reply");
      return {};
    }
    replies.items.emplace_back(static_cast<redisReply*>(reply), freeReplyObject);
    if (replies.items.back()->type == REDIS_REPLY_ERROR && !refused) {
      // The connection is fine, the command was refused (a full Redis, a wrong key type).
      log(std::string("refused: ") + replies.items.back()->str);
      ++errors_;
      refused = true;
    }
  }
  if (refused) return {};
  return replies;
}

std::optional<StoredState> RedisStateStore::find(std::span<const int32_t> tokens,
                                                 int64_t min_length) {
  std::lock_guard lock(mutex_);
  const auto n = static_cast<int64_t>(tokens.size());
  if (n - 1 <= min_length) return std::nullopt;
  // The stored lengths in (min_length, n), longest first; a few hundred at most are tried.
  // "(" makes a bound exclusive; appended rather than concatenated, which GCC 12's -Wrestrict
  // misreads.
  std::string below(1, '('), above(1, '(');
  below += std::to_string(n);
  above += std::to_string(min_length);
  const Replies lengths =
      run({{"ZREVRANGEBYSCORE", lengths_key_, below, above, "LIMIT", "0", "256"}});
  if (!lengths.ok() || lengths[0].type != REDIS_REPLY_ARRAY || lengths[0].elements == 0) {
    return std::nullopt;
  }
  const std::vector<uint64_t> hashes = prefix_hashes(identity_.fingerprint, tokens);
  std::vector<int64_t> candidates;
  std::vector<std::string> keys;
  for (size_t i = 0; i < lengths[0].elements; ++i) {
    const redisReply& item = *lengths[0].element[i];
    int64_t length = -1;
    if (item.type != REDIS_REPLY_STRING ||
        std::from_chars(item.str, item.str + item.len, length).ptr != item.str + item.len ||
        length <= min_length || length >= n) {
      continue;  // not a length this server wrote
    }
    candidates.push_back(length);
    keys.push_back("mamba2:" + entry_key(identity_.fingerprint, length, hashes[length]));
  }
  std::vector<Command> exists;
  for (const std::string& key : keys) exists.push_back({"EXISTS", key});
  const Replies present = run(exists);
  if (!present.ok()) return std::nullopt;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (present[i].type != REDIS_REPLY_INTEGER || present[i].integer != 1) continue;
    const std::string ttl = std::to_string(options_.ttl_seconds);
    // At most one byte more than any entry of this model: a larger value is refused below
    // without being read whole into memory.
    const std::string last_byte = std::to_string(max_entry_bytes_);
    const Replies got = run({{"GETRANGE", keys[i], "0", last_byte}, {"EXPIRE", keys[i], ttl}});
    if (!got.ok()) return std::nullopt;
    // Expired between the two calls (GETRANGE gives "" for a key that is gone).
    if (got[0].type != REDIS_REPLY_STRING || got[0].len == 0) continue;
    try {
      if (static_cast<int64_t>(got[0].len) > max_entry_bytes_) {
        throw Error(keys[i], "larger than any state entry of this model");
      }
      auto state = decode_state_entry(identity_, std::string_view(got[0].str, got[0].len),
                                      tokens.first(static_cast<size_t>(candidates[i])), keys[i]);
      return StoredState{std::move(state), candidates[i]};
    } catch (const Error& bad) {
      log(std::string("ignoring an entry: ") + bad.what());
      ++errors_;
      run({{"DEL", keys[i]}});
    }
  }
  return std::nullopt;
}

void RedisStateStore::put(std::span<const int32_t> tokens, const SessionState& state) {
  if (tokens.empty()) return;
  std::lock_guard lock(mutex_);
  const auto length = static_cast<int64_t>(tokens.size());
  const std::string key =
      "mamba2:" +
      entry_key(identity_.fingerprint, length, prefix_hashes(identity_.fingerprint, tokens).back());
  const std::string ttl = std::to_string(options_.ttl_seconds),
                    length_text = std::to_string(length);
  // A prefix stored already (by any replica) is only kept alive.
  const Replies refreshed = run({{"EXPIRE", key, ttl}});
  if (!refreshed.ok() || refreshed[0].type != REDIS_REPLY_INTEGER || refreshed[0].integer == 1) {
    return;
  }
  const std::string bytes = encode_state_entry(identity_, tokens, state);
  const Replies stored = run({{"SET", key, bytes, "EX", ttl},
                              {"ZADD", lengths_key_, length_text, length_text},
                              {"EXPIRE", lengths_key_, ttl},
                              {"DBSIZE"},
                              {"INFO", "memory"}});
  if (!stored.ok()) return;
  if (stored[3].type == REDIS_REPLY_INTEGER) entries_.store(stored[3].integer);
  // "used_memory:<bytes>\r\n" in INFO's text.
  const std::string_view info(stored[4].str ? stored[4].str : "", stored[4].len);
  const size_t at = info.find("used_memory:");
  int64_t used = 0;
  if (at != std::string_view::npos) {
    const char* begin = info.data() + at + 12;
    std::from_chars(begin, info.data() + info.size(), used);
    bytes_.store(used);
  }
}

StoreSize RedisStateStore::size() const { return {entries_.load(), bytes_.load()}; }

}  // namespace mamba2::server
