// Prefix states as files in a directory, one per entry ("<key>.state", state_entry.h's format),
// written atomically, so they survive a restart (or a crash) of the server. At start the
// directory is indexed by file name alone (no entry is read until a prompt needs it); the
// least recently used entries (by modification time, which a hit refreshes) are removed once
// this model's entries pass `max_bytes`. An unreadable, damaged or foreign entry is logged,
// removed from the index and deleted. One server per directory: replicas share states through
// Redis, not a shared directory (a second writer's entries are not seen until a restart).
#pragma once

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include "server/state_entry.h"
#include "server/state_store.h"

namespace mamba2::server {

class DirStateStore final : public StateStore {
 public:
  // Creates `dir` if needed. `max_tokens` bounds the entries it will read back. Throws Error if
  // the directory cannot be made or listed.
  DirStateStore(std::filesystem::path dir, StoreIdentity identity, int64_t max_bytes,
                int64_t max_tokens);

  std::optional<StoredState> find(std::span<const int32_t> tokens, int64_t min_length) override;
  void put(std::span<const int32_t> tokens, const SessionState& state) override;
  StoreSize size() const override;
  int64_t errors() const override { return errors_.load(); }

 private:
  struct Meta {
    int64_t length;
    int64_t bytes;
    uint64_t last_use;  // a clock of uses; the smallest goes first
  };
  std::filesystem::path path_of(const std::string& key) const;
  void add(const std::string& key, int64_t length, int64_t bytes, uint64_t last_use);
  void remove(const std::string& key);  // from the index and the disk
  std::shared_ptr<const SessionState> read(const std::string& key, std::span<const int32_t> tokens);

  const std::filesystem::path dir_;
  const StoreIdentity identity_;
  const int64_t max_bytes_;
  const int64_t max_entry_bytes_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Meta> index_;  // guarded by mutex_, as all below
  std::map<int64_t, int64_t> lengths_;           // prefix length -> entries of that length
  uint64_t clock_ = 0;
  int64_t bytes_ = 0;
  std::atomic<int64_t> errors_{0};
};

}  // namespace mamba2::server
