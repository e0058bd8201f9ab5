// The file of f32 GEMM choices: read as untrusted, one answer per (machine, K) for every process
// and thread that shares it, and no failure where it cannot be written.
#include "kernels/f32_gemm_path_file.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include "kernels/simd.h"
#include "tests/support/file_bytes.h"
#include "tests/support/test_paths.h"

namespace mamba2::kernels {
namespace {

namespace fs = std::filesystem;
using testing::read_bytes;
using testing::write_bytes;

TEST(F32GemmPathFile, ReadsWellFormedLinesAndDropsTheRest) {
  const F32GemmPathChoices choices = parse_f32_gemm_path_file(
      "cpu a\t768\tpanels\n"
      "cpu a\t1536\topenblas sgemm\n"
      "cpu b\t768\topenblas sgemm\r\n"  // not a path name
      "cpu b\tx68\tpanels\n"
      "cpu b\t-768\tpanels\n"
      "cpu b\t1234567890\tpanels\n"  // too many digits
      "\t768\tpanels\n"
      "no tabs at all\n"
      "cpu c\t64\tpanels");  // no final newline
  ASSERT_EQ(choices.size(), 3u);
  EXPECT_EQ(choices.at({"cpu a", 768}), F32GemmPath::kPanels);
  EXPECT_EQ(choices.at({"cpu a", 1536}), F32GemmPath::kOpenBlas);
  EXPECT_EQ(choices.at({"cpu c", 64}), F32GemmPath::kPanels);
  EXPECT_EQ(parse_f32_gemm_path_file(format_f32_gemm_path_file(choices)), choices);
  EXPECT_TRUE(parse_f32_gemm_path_file(std::string(1000, '\t')).empty());
}

TEST(F32GemmPathFile, TheFirstDecisionIsTheOneEveryLaterCallReads) {
  const fs::path file = testing::scratch_dir() / "cache" / "f32-gemm-paths";
  int decided = 0;
  const auto panels = [&] { return ++decided, F32GemmPath::kPanels; };
  const auto blas = [&] { return ++decided, F32GemmPath::kOpenBlas; };
  EXPECT_EQ(find_or_record_f32_gemm_path(file, "cpu a", 768, panels), F32GemmPath::kPanels);
  EXPECT_EQ(find_or_record_f32_gemm_path(file, "cpu a", 768, blas), F32GemmPath::kPanels);
  EXPECT_EQ(decided, 1);
  // Another K, another machine: decided each.
  EXPECT_EQ(find_or_record_f32_gemm_path(file, "cpu a", 1536, blas), F32GemmPath::kOpenBlas);
  EXPECT_EQ(find_or_record_f32_gemm_path(file, "cpu b", 768, blas), F32GemmPath::kOpenBlas);
  EXPECT_EQ(decided, 3);
  EXPECT_EQ(parse_f32_gemm_path_file(read_bytes(file)).size(), 3u);
  // What another process wrote is obeyed.
  write_bytes(file, "cpu a\t768\topenblas sgemm\n");
  EXPECT_EQ(find_or_record_f32_gemm_path(file, "cpu a", 768, panels), F32GemmPath::kOpenBlas);
  EXPECT_EQ(decided, 3);
}

TEST(F32GemmPathFile, ADamagedFileKeepsItsGoodLinesAndGainsTheNewOne) {
  const fs::path file = testing::scratch_dir() / "f32-gemm-paths";
  constexpr char kDamaged[] = "\x00\xff garbage\ncpu a\t256\tpanels\n\t\t\n";
  write_bytes(file, std::string(kDamaged, sizeof(kDamaged) - 1));
  const auto blas = [] { return F32GemmPath::kOpenBlas; };
  EXPECT_EQ(find_or_record_f32_gemm_path(file, "cpu a", 256, blas), F32GemmPath::kPanels);
  EXPECT_EQ(find_or_record_f32_gemm_path(file, "cpu a", 512, blas), F32GemmPath::kOpenBlas);
  EXPECT_EQ(read_bytes(file), "cpu a\t256\tpanels\ncpu a\t512\topenblas sgemm\n");
}

TEST(F32GemmPathFile, ADirectoryThatCannotBeWrittenOnlyCostsTheRecord) {
  const fs::path dir = testing::scratch_dir();
  write_bytes(dir / "a file", "not a directory");
  int decided = 0;
  const auto panels = [&] { return ++decided, F32GemmPath::kPanels; };
  const fs::path file = dir / "a file" / "f32-gemm-paths";
  EXPECT_EQ(find_or_record_f32_gemm_path(file, "cpu a", 64, panels), F32GemmPath::kPanels);
  EXPECT_EQ(find_or_record_f32_gemm_path(file, "cpu a", 64, panels), F32GemmPath::kPanels);
  EXPECT_EQ(decided, 2);
  EXPECT_FALSE(fs::exists(file));
}

TEST(F32GemmPathFile, ConcurrentDecidersAgreeOnOneAnswer) {
  const fs::path file = testing::scratch_dir() / "f32-gemm-paths";
  std::atomic<int> decided{0};
  std::vector<F32GemmPath> seen(4);
  {
    std::vector<std::jthread> loaders;
    for (size_t i = 0; i < seen.size(); ++i) {
      loaders.emplace_back([&, i] {
        // Each thread would decide differently: only the first decision may count.
        const auto decide = [&] {
          ++decided;
          return i % 2 ? F32GemmPath::kPanels : F32GemmPath::kOpenBlas;
        };
        seen[i] = find_or_record_f32_gemm_path(file, "cpu a", 96, decide);
      });
    }
  }
  EXPECT_EQ(decided.load(), 1);
  for (const F32GemmPath path : seen) EXPECT_EQ(path, seen[0]);
}

TEST(F32GemmPathFile, TheMachineKeyIsOneLineNamingTheSimdLevelAndBuild) {
  const std::string key = f32_gemm_machine_key();
  EXPECT_EQ(key.find_first_of("\t\n"), std::string::npos);
  EXPECT_NE(key.find(std::string(path_name(simd_level()))), std::string::npos);
  EXPECT_NE(key.find("build"), std::string::npos);
}

}  // namespace
}  // namespace mamba2::kernels
