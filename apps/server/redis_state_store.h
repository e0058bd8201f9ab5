// Prefix states in Redis, shared by every replica of the server that names the same Redis: a
// conversation's next turn resumes its state wherever the load balancer sends it. An entry is a
// string "mamba2:<key>" (state_entry.h's key and format) set with a TTL that every hit
// refreshes; a sorted set "mamba2:<fingerprint>:lengths" lists the prefix lengths stored, so a
// lookup asks for the few candidate keys a prompt's prefixes can have. Redis's own maxmemory
// with an LRU policy bounds the memory (see the README). Every call has a timeout; if Redis
// cannot be reached or fails, the store logs it, answers "nothing stored" and tries to connect
// again after a pause, so the server keeps serving from its memory cache.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "server/state_entry.h"
#include "server/state_store.h"

struct redisContext;

namespace mamba2::server {

struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  int64_t ttl_seconds = 3600;    // an entry unused this long expires
  int64_t timeout_ms = 1000;     // connect, and every read or write
  int64_t retry_ms = 5000;       // the pause after a failure before connecting again
  int64_t max_tokens = 1 << 20;  // the longest prefix an entry read back may hold
};

// "HOST:PORT" as --redis takes it; throws Error otherwise.
RedisOptions parse_redis_address(const std::string& address);

class RedisStateStore final : public StateStore {
 public:
  // Connects at the first use, not here: a server starts even while Redis is down.
  RedisStateStore(RedisOptions options, StoreIdentity identity);
  ~RedisStateStore() override;
  RedisStateStore(const RedisStateStore&) = delete;
  RedisStateStore& operator=(const RedisStateStore&) = delete;

  std::optional<StoredState> find(std::span<const int32_t> tokens, int64_t min_length) override;
  void put(std::span<const int32_t> tokens, const SessionState& state) override;
  // The Redis database's keys and used memory, as of the last put.
  StoreSize size() const override;
  int64_t errors() const override { return errors_.load(); }

 private:
  using Command = std::vector<std::string_view>;
  struct Replies;
  redisContext* connection();          // null while Redis is unreachable
  void fail(const std::string& what);  // logs, counts, drops the connection
  // Sends the commands in one write and reads their replies; empty after a failure (logged).
  Replies run(const std::vector<Command>& commands);

  const RedisOptions options_;
  const StoreIdentity identity_;
  const std::string lengths_key_;
  const int64_t max_entry_bytes_;
  std::mutex mutex_;
  redisContext* context_ = nullptr;  // guarded by mutex_, as retry_at_
  std::chrono::steady_clock::time_point retry_at_;
  std::atomic<int64_t> entries_{0}, bytes_{0}, errors_{0};
};

}  // namespace mamba2::server
