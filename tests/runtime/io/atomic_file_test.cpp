#include "runtime/io/atomic_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(AtomicFile, ReplacesOnlyOnCommit) {
  const auto dir = testing::scratch_dir();
  const auto path = dir / "out.txt";
  std::ofstream(path) << "old";
  {
    AtomicFile file(path);
    file.write(std::string_view("new"));
    EXPECT_EQ(read_text(path), "old");
    file.commit();
  }
  EXPECT_EQ(read_text(path), "new");
}

TEST(AtomicFile, AbandonedWriteLeavesNothingBehind) {
  const auto dir = testing::scratch_dir();
  const auto path = dir / "out.txt";
  std::ofstream(path) << "keep";
  { AtomicFile(path).write(std::string_view("partial")); }
  EXPECT_EQ(read_text(path), "keep");
  size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1u);
}

TEST(AtomicFile, NewFileGetsTheUmaskModeAndAReplacedFileKeepsItsMode) {
  namespace fs = std::filesystem;
  const auto dir = testing::scratch_dir();
  const mode_t previous_umask = ::umask(022);
  {
    AtomicFile file(dir / "new.bin");
    file.commit();
  }
  ::umask(previous_umask);
  EXPECT_EQ(fs::status(dir / "new.bin").permissions(),
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                fs::perms::others_read);

  const auto kept = dir / "kept.bin";
  std::ofstream(kept) << "old";
  fs::permissions(kept, fs::perms::owner_read | fs::perms::owner_write | fs::perms::owner_exec);
  {
    AtomicFile file(kept);
    file.commit();
  }
  EXPECT_EQ(fs::status(kept).permissions(),
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::owner_exec);
}

}  // namespace
}  // namespace mamba2
