#include "server/dir_state_store.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <vector>

#include "mamba2/error.h"

namespace mamba2::server {
namespace {

namespace fs = std::filesystem;
constexpr std::string_view kSuffix = ".state";

void log(const std::string& message) {
  std::fprintf(stderr, "mamba2-server: state dir: %s\n", message.c_str());
}

}  // namespace

DirStateStore::DirStateStore(fs::path dir, StoreIdentity identity, int64_t max_bytes,
                             int64_t max_tokens)
    : dir_(std::move(dir)),
      identity_(std::move(identity)),
      max_bytes_(max_bytes),
      max_entry_bytes_(max_state_entry_bytes(identity_.config, max_tokens)) {
  std::error_code error;
  fs::create_directories(dir_, error);
  if (error) throw Error(dir_.string(), "cannot make the state directory: " + error.message());
  struct Found {
    std::string key;
    int64_t length, bytes;
    fs::file_time_type time;
  };
  std::vector<Found> found;
  const std::string head = entry_key(identity_.fingerprint, 0, 0).substr(0, 17);
  fs::directory_iterator it(dir_, error), end;
  if (error) throw Error(dir_.string(), "cannot list the state directory: " + error.message());
  for (; it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (!name.starts_with(head)) continue;  // another model's, or not ours at all
    if (name.find(".tmp.") != std::string::npos) {
      fs::remove(it->path(), error);  // a write a crash interrupted
      continue;
    }
    const std::string key = name.substr(0, name.size() - kSuffix.size());
    const std::optional<int64_t> length =
        name.ends_with(kSuffix) ? key_length(key, identity_.fingerprint) : std::nullopt;
    const auto bytes = static_cast<int64_t>(it->file_size(error));
    if (!length || error) {
      log("ignoring " + name + ": not a state entry");
      continue;
    }
    found.push_back({key, *length, bytes, it->last_write_time(error)});
  }
  std::ranges::sort(found, {}, &Found::time);  // oldest first: the first to go
  for (const Found& entry : found) add(entry.key, entry.length, entry.bytes, clock_++);
  if (!found.empty())
    log("indexed " + std::to_string(found.size()) + " entries in " + dir_.string());
}

fs::path DirStateStore::path_of(const std::string& key) const {
  return dir_ / (key + std::string(kSuffix));
}

void DirStateStore::add(const std::string& key, int64_t length, int64_t bytes, uint64_t last_use) {
  index_[key] = {length, bytes, last_use};
  ++lengths_[length];
  bytes_ += bytes;
}

void DirStateStore::remove(const std::string& key) {
  const auto it = index_.find(key);
  if (it == index_.end()) return;
  const fs::path path = path_of(key);  // before `key`, which may be the index's own, goes
  if (--lengths_[it->second.length] == 0) lengths_.erase(it->second.length);
  bytes_ -= it->second.bytes;
  index_.erase(it);
  std::error_code error;
  fs::remove(path, error);
}

std::shared_ptr<const SessionState> DirStateStore::read(const std::string& key,
                                                        std::span<const int32_t> tokens) {
  const fs::path path = path_of(key);
  try {
    std::error_code error;
    const uintmax_t size = fs::file_size(path, error);
    if (error) throw Error(path.string(), "cannot read: " + error.message());
    if (size > static_cast<uintmax_t>(max_entry_bytes_)) {
      throw Error(path.string(), "larger than any state entry of this model");
    }
    std::string bytes(static_cast<size_t>(size), '\0');
    std::ifstream in(path, std::ios::binary);
    if (!in.read(bytes.data(), static_cast<std::streamsize>(size))) {
      throw Error(path.string(), "cannot read");
    }
    auto state = decode_state_entry(identity_, bytes, tokens, path.string());
    fs::last_write_time(path, fs::file_time_type::clock::now(), error);  // for the next start
    return state;
  } catch (const Error& bad) {
    log(std::string("ignoring an entry: ") + bad.what());
    ++errors_;
    remove(key);
    return nullptr;
  }
}

std::optional<StoredState> DirStateStore::find(std::span<const int32_t> tokens,
                                               int64_t min_length) {
  std::lock_guard lock(mutex_);
  const auto n = static_cast<int64_t>(tokens.size());
  std::vector<uint64_t> hashes;
  // Longest first, among the lengths some entry has.
  for (auto it = lengths_.lower_bound(n); it != lengths_.begin();) {
    const int64_t length = (--it)->first;
    if (length <= min_length) break;
    if (length >= n) continue;
    if (hashes.empty()) hashes = prefix_hashes(identity_.fingerprint, tokens);
    const std::string key = entry_key(identity_.fingerprint, length, hashes[length]);
    const auto found = index_.find(key);
    if (found == index_.end()) continue;
    auto state = read(key, tokens.first(static_cast<size_t>(length)));
    if (!state) return std::nullopt;  // the index changed under `it`; the next prompt goes on
    index_[key].last_use = clock_++;
    return StoredState{std::move(state), length};
  }
  return std::nullopt;
}

void DirStateStore::put(std::span<const int32_t> tokens, const SessionState& state) {
  if (tokens.empty()) return;
  std::lock_guard lock(mutex_);
  const auto length = static_cast<int64_t>(tokens.size());
  const std::string key =
      entry_key(identity_.fingerprint, length, prefix_hashes(identity_.fingerprint, tokens).back());
  if (const auto it = index_.find(key); it != index_.end()) {
    it->second.last_use = clock_++;
    return;
  }
  const fs::path path = path_of(key);
  try {
    save_state_entry(path, identity_, tokens, state);
  } catch (const Error& failed) {
    log(std::string("cannot save: ") + failed.what());
    ++errors_;
    return;
  }
  std::error_code error;
  const auto bytes = static_cast<int64_t>(fs::file_size(path, error));
  add(key, length, error ? 0 : bytes, clock_++);
  while (bytes_ > max_bytes_ && !index_.empty()) {
    const auto oldest = std::ranges::min_element(
        index_, {}, [](const auto& entry) { return entry.second.last_use; });
    remove(oldest->first);
  }
}

StoreSize DirStateStore::size() const {
  std::lock_guard lock(mutex_);
  return {static_cast<int64_t>(index_.size()), bytes_};
}

}  // namespace mamba2::server
