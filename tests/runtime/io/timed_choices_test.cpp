// The file of timed choices: read as untrusted, one answer per key for every process and thread
// that shares it, and no failure where it cannot be written.
#include "runtime/io/timed_choices.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "tests/support/file_bytes.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

namespace fs = std::filesystem;
using testing::read_bytes;
using testing::write_bytes;

constexpr auto any_value = [](std::string_view) { return true; };
constexpr auto a_path = [](std::string_view value) {
  return value == "panels" || value == "openblas sgemm";
};

TEST(TimedChoices, ReadsWellFormedLinesAndDropsTheRest) {
  const TimedChoices choices = parse_timed_choices(
      "cpu a | K 768\tpanels\n"
      "cpu a | K 1536\topenblas sgemm\n"
      "cpu b | K 768\tpanels\r\n"  // a carriage return in the value
      "cpu b | K 64\t\n"           // no value
      "\tpanels\n"                 // no key
      "no tabs at all\n"
      "cpu b | K 32\tpanels\textra\n"
      "cpu c | K 64\tpanels");  // no final newline
  ASSERT_EQ(choices.size(), 3u);
  EXPECT_EQ(choices.at("cpu a | K 768"), "panels");
  EXPECT_EQ(choices.at("cpu a | K 1536"), "openblas sgemm");
  EXPECT_EQ(choices.at("cpu c | K 64"), "panels");
  EXPECT_EQ(parse_timed_choices(format_timed_choices(choices)), choices);
  EXPECT_TRUE(parse_timed_choices(std::string(1000, '\t')).empty());
  EXPECT_EQ(timed_choice_text("a\tb\nc\rd"), "a b c d");
}

TEST(TimedChoices, TheFirstDecisionIsTheOneEveryLaterCallReads) {
  const fs::path file = testing::scratch_dir() / "cache" / "timed-choices";
  EXPECT_FALSE(find_timed_choice(file, "cpu a | K 768", any_value));
  int decided = 0;
  const auto panels = [&] { return ++decided, std::string("panels"); };
  const auto blas = [&] { return ++decided, std::string("openblas sgemm"); };
  EXPECT_EQ(find_or_record_timed_choice(file, "cpu a | K 768", a_path, panels), "panels");
  EXPECT_EQ(find_or_record_timed_choice(file, "cpu a | K 768", a_path, blas), "panels");
  EXPECT_EQ(find_timed_choice(file, "cpu a | K 768", a_path), "panels");
  EXPECT_EQ(decided, 1);
  // Other keys: decided each.
  EXPECT_EQ(find_or_record_timed_choice(file, "cpu a | K 1536", a_path, blas), "openblas sgemm");
  EXPECT_EQ(find_or_record_timed_choice(file, "cpu b | K 768", a_path, blas), "openblas sgemm");
  EXPECT_EQ(decided, 3);
  EXPECT_EQ(parse_timed_choices(read_bytes(file)).size(), 3u);
  // What another process wrote is obeyed; a value the caller does not accept is decided again.
  write_bytes(file, "cpu a | K 768\topenblas sgemm\ncpu a | K 64\tgarbage\n");
  EXPECT_EQ(find_or_record_timed_choice(file, "cpu a | K 768", a_path, panels), "openblas sgemm");
  EXPECT_FALSE(find_timed_choice(file, "cpu a | K 64", a_path));
  EXPECT_EQ(find_or_record_timed_choice(file, "cpu a | K 64", a_path, panels), "panels");
  EXPECT_EQ(decided, 4);
  EXPECT_EQ(read_bytes(file), "cpu a | K 64\tpanels\ncpu a | K 768\topenblas sgemm\n");
}

TEST(TimedChoices, ADamagedFileKeepsItsGoodLinesAndGainsTheNewOne) {
  const fs::path file = testing::scratch_dir() / "timed-choices";
  constexpr char kDamaged[] = "\x00\xff garbage\ncpu a | K 256\tpanels\n\t\t\n";
  write_bytes(file, std::string(kDamaged, sizeof(kDamaged) - 1));
  const auto blas = [] { return std::string("openblas sgemm"); };
  EXPECT_EQ(find_or_record_timed_choice(file, "cpu a | K 256", a_path, blas), "panels");
  EXPECT_EQ(find_or_record_timed_choice(file, "cpu a | K 512", a_path, blas), "openblas sgemm");
  EXPECT_EQ(read_bytes(file), "cpu a | K 256\tpanels\ncpu a | K 512\topenblas sgemm\n");
}

TEST(TimedChoices, ADirectoryThatCannotBeWrittenOnlyCostsTheRecord) {
  const fs::path dir = testing::scratch_dir();
  write_bytes(dir / "a file", "not a directory");
  int decided = 0;
  const auto panels = [&] { return ++decided, std::string("panels"); };
  const fs::path file = dir / "a file" / "timed-choices";
  EXPECT_EQ(find_or_record_timed_choice(file, "cpu a | K 64", a_path, panels), "panels");
  EXPECT_EQ(find_or_record_timed_choice(file, "cpu a | K 64", a_path, panels), "panels");
  EXPECT_EQ(decided, 2);
  EXPECT_FALSE(fs::exists(file));
  EXPECT_FALSE(find_timed_choice(file, "cpu a | K 64", a_path));
}

TEST(TimedChoices, ALockHeldByAStoppedProcessIsWaitedForABoundedTime) {
  const fs::path file = testing::scratch_dir() / "timed-choices";
  write_bytes(file, "cpu a | K 64\tpanels\n");
  const int holder = ::open((file.string() + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(holder, 0);
  ASSERT_EQ(::flock(holder, LOCK_EX), 0);
  const auto start = std::chrono::steady_clock::now();
  const auto blas = [] { return std::string("openblas sgemm"); };
  EXPECT_EQ(find_or_record_timed_choice(file, "cpu a | K 64", a_path, blas), "openblas sgemm");
  EXPECT_FALSE(find_timed_choice(file, "cpu a | K 64", a_path));
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_LT(waited, std::chrono::seconds(10));
  ::close(holder);
  EXPECT_EQ(find_timed_choice(file, "cpu a | K 64", a_path), "panels");
  EXPECT_EQ(read_bytes(file), "cpu a | K 64\tpanels\n");  // not overwritten without the lock
}

TEST(TimedChoices, ConcurrentDecidersAgreeOnOneAnswer) {
  const fs::path file = testing::scratch_dir() / "timed-choices";
  std::atomic<int> decided{0};
  std::vector<std::string> seen(4);
  {
    std::vector<std::jthread> loaders;
    for (size_t i = 0; i < seen.size(); ++i) {
      loaders.emplace_back([&, i] {
        // Each thread would decide differently: only the first decision may count.
        const auto decide = [&] {
          ++decided;
          return std::string(i % 2 ? "panels" : "openblas sgemm");
        };
        seen[i] = find_or_record_timed_choice(file, "cpu a | K 96", a_path, decide);
      });
    }
  }
  EXPECT_EQ(decided.load(), 1);
  for (const std::string& value : seen) EXPECT_EQ(value, seen[0]);
}

}  // namespace
}  // namespace mamba2
