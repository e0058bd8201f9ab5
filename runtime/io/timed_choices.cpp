#include "runtime/io/timed_choices.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <system_error>
#include <thread>

#include "mamba2/error.h"
#include "runtime/io/atomic_file.h"

namespace mamba2 {
namespace {

// Files larger than this are not ours (or not any more): read as empty.
constexpr std::streamsize kMaxFileBytes = 1 << 20;

std::string read_small_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return {};
  std::string text(static_cast<size_t>(kMaxFileBytes) + 1, '\0');
  in.read(text.data(), kMaxFileBytes + 1);
  if (in.gcount() > kMaxFileBytes) return {};
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

// How long a process waits for another's lock: the holder times a few milliseconds of work, so
// a lock held longer belongs to a process that is stopped or hung, and waiting on would hang us.
constexpr auto kLockPatience = std::chrono::seconds(2);

// A flock (LOCK_EX or LOCK_SH) on a file beside the choices, held for the object's life; held()
// is false where it could not be taken within kLockPatience.
class FileLock {
 public:
  FileLock(const std::filesystem::path& path, int operation)
      : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    const auto give_up = std::chrono::steady_clock::now() + kLockPatience;
    while (fd_ >= 0 && ::flock(fd_, operation | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK || std::chrono::steady_clock::now() > give_up) {
        ::close(fd_);
        fd_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  bool held() const { return fd_ >= 0; }

 private:
  int fd_;
};

std::filesystem::path lock_path(const std::filesystem::path& file) {
  return std::filesystem::path(file) += ".lock";
}

std::optional<std::string> accepted(const TimedChoices& choices, std::string_view key,
                                    FunctionRef<bool(std::string_view)> accept) {
  const auto found = choices.find(key);
  if (found == choices.end() || !accept(found->second)) return std::nullopt;
  return found->second;
}

}  // namespace

TimedChoices parse_timed_choices(std::string_view text) {
  TimedChoices choices;
  while (!text.empty() && choices.size() < kMaxTimedChoices) {
    const size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    const size_t tab = line.find('\t');
    if (tab == std::string_view::npos || tab == 0 || tab + 1 == line.size()) continue;
    const std::string_view value = line.substr(tab + 1);
    if (value.find_first_of("\t\r") != std::string_view::npos) continue;
    choices.insert_or_assign(std::string(line.substr(0, tab)), std::string(value));
  }
  return choices;
}

std::string format_timed_choices(const TimedChoices& choices) {
  std::string text;
  for (const auto& [key, value] : choices) text += key + "\t" + value + "\n";
  return text;
}

std::string timed_choice_text(std::string text) {
  for (char& c : text) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

std::optional<std::filesystem::path> default_timed_choices_file() {
  const auto env = [](const char* name) -> std::optional<std::filesystem::path> {
    const char* value = std::getenv(name);
    if (!value || !*value) return std::nullopt;
    return std::filesystem::path(value);
  };
  std::optional<std::filesystem::path> dir = env("MAMBA2_CACHE_DIR");
  if (!dir) {
    if (auto xdg = env("XDG_CACHE_HOME")) dir = *xdg / "mamba2";
  }
  if (!dir) {
    if (auto home = env("HOME")) dir = *home / ".cache" / "mamba2";
  }
  if (!dir) return std::nullopt;
  return *dir / "timed-choices";
}

std::optional<std::string> find_timed_choice(const std::filesystem::path& file,
                                             std::string_view key,
                                             FunctionRef<bool(std::string_view)> accept) {
  if (!std::filesystem::exists(lock_path(file))) return std::nullopt;
  const FileLock lock(lock_path(file), LOCK_SH);
  if (!lock.held()) return std::nullopt;
  return accepted(parse_timed_choices(read_small_file(file)), key, accept);
}

std::string find_or_record_timed_choice(const std::filesystem::path& file, std::string_view key,
                                        FunctionRef<bool(std::string_view)> accept,
                                        FunctionRef<std::string()> decide) {
  std::error_code error;
  std::filesystem::create_directories(file.parent_path(), error);
  const FileLock lock(lock_path(file), LOCK_EX);
  if (!lock.held()) return decide();
  TimedChoices choices = parse_timed_choices(read_small_file(file));
  if (std::optional<std::string> found = accepted(choices, key, accept)) return *found;
  const std::string value = decide();
  if (choices.size() >= kMaxTimedChoices) choices.clear();
  choices.insert_or_assign(std::string(key), value);
  try {
    AtomicFile out(file);
    out.write(format_timed_choices(choices));
    out.commit();
  } catch (const Error&) {
    // A read-only cache: the choice holds for this process only.
  }
  return value;
}

}  // namespace mamba2
