#include "kernels/f32_gemm_path_file.h"

#include <cpuid.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <system_error>

#include "kernels/simd.h"
#include "mamba2/error.h"
#include "runtime/io/atomic_file.h"

namespace mamba2::kernels {
namespace {

// Files larger than this are not ours (or not any more): read as empty.
constexpr std::streamsize kMaxFileBytes = 1 << 20;

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define MAMBA2_SANITIZED_BUILD 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MAMBA2_SANITIZED_BUILD 1
#endif

#ifdef MAMBA2_SANITIZED_BUILD
constexpr std::string_view kBuild = "sanitized";
#else
constexpr std::string_view kBuild = "plain";
#endif

std::string cpu_brand() {
  unsigned regs[12] = {};
  for (unsigned leaf = 0; leaf < 3; ++leaf) {
    if (!__get_cpuid(0x80000002u + leaf, &regs[4 * leaf], &regs[4 * leaf + 1], &regs[4 * leaf + 2],
                     &regs[4 * leaf + 3])) {
      return "unknown cpu";
    }
  }
  char text[sizeof(regs) + 1] = {};
  std::memcpy(text, regs, sizeof(regs));
  std::string brand(text);
  while (!brand.empty() && brand.back() == ' ') brand.pop_back();
  return brand;
}

std::optional<F32GemmPath> path_named(std::string_view name) {
  for (const PathInfo<F32GemmPath>& info : path_table(F32GemmPath{})) {
    if (name == info.name) return info.path;
  }
  return std::nullopt;
}

std::string read_small_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return {};
  std::string text(static_cast<size_t>(kMaxFileBytes) + 1, '\0');
  in.read(text.data(), kMaxFileBytes + 1);
  if (in.gcount() > kMaxFileBytes) return {};
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

// An exclusive flock on a file beside the choices, held for the object's life; held() is false
// where it could not be taken.
class FileLock {
 public:
  explicit FileLock(const std::filesystem::path& path)
      : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (fd_ >= 0 && ::flock(fd_, LOCK_EX) != 0) {
      ::close(fd_);
      fd_ = -1;
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

}  // namespace

F32GemmPathChoices parse_f32_gemm_path_file(std::string_view text) {
  F32GemmPathChoices choices;
  while (!text.empty() && choices.size() < kMaxF32GemmPathLines) {
    const size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    const size_t tab1 = line.find('\t');
    const size_t tab2 = tab1 == std::string_view::npos ? tab1 : line.find('\t', tab1 + 1);
    if (tab2 == std::string_view::npos || tab1 == 0) continue;
    const std::string_view digits = line.substr(tab1 + 1, tab2 - tab1 - 1);
    if (digits.empty() || digits.size() > 9 ||
        digits.find_first_not_of("0123456789") != std::string_view::npos) {
      continue;
    }
    const std::optional<F32GemmPath> path = path_named(line.substr(tab2 + 1));
    if (!path) continue;
    choices[{std::string(line.substr(0, tab1)), std::stoll(std::string(digits))}] = *path;
  }
  return choices;
}

std::string format_f32_gemm_path_file(const F32GemmPathChoices& choices) {
  std::string text;
  for (const auto& [key, path] : choices) {
    text +=
        key.first + "\t" + std::to_string(key.second) + "\t" + std::string(path_name(path)) + "\n";
  }
  return text;
}

std::string f32_gemm_machine_key() {
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  std::string key = "v1 " + cpu_brand() + ", " + std::string(path_name(simd_level())) +
                    ", OPENBLAS_CORETYPE=" + (coretype ? coretype : "") + ", " +
                    std::string(kBuild) + " build";
  for (char& c : key) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return key;
}

std::optional<std::filesystem::path> default_f32_gemm_path_file() {
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
  return *dir / "f32-gemm-paths";
}

F32GemmPath find_or_record_f32_gemm_path(const std::filesystem::path& file,
                                         std::string_view machine, int64_t k,
                                         FunctionRef<F32GemmPath()> decide) {
  std::error_code error;
  std::filesystem::create_directories(file.parent_path(), error);
  const FileLock lock(std::filesystem::path(file) += ".lock");
  if (!lock.held()) return decide();
  F32GemmPathChoices choices = parse_f32_gemm_path_file(read_small_file(file));
  const std::pair<std::string, int64_t> key{std::string(machine), k};
  if (auto found = choices.find(key); found != choices.end()) return found->second;
  const F32GemmPath path = decide();
  if (choices.size() >= kMaxF32GemmPathLines) choices.clear();
  choices[key] = path;
  try {
    AtomicFile out(file);
    out.write(format_f32_gemm_path_file(choices));
    out.commit();
  } catch (const Error&) {
    // A read-only cache: the choice holds for this process only.
  }
  return path;
}

}  // namespace mamba2::kernels
