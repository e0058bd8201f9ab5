// mamba2-bench's output formats with --roofline's limits filled in by hand: every format prints
// the rows and the limit fields of each row's thread count.
#include "bench_report/bench_output.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace mamba2::apps {
namespace {

BenchInfo info_with_limits() {
  BenchInfo info;
  info.model_filename = "model.gguf";
  info.cpu_info = "test cpu";
  MachineLimits limits;
  limits.read_bytes_per_s = 50e9;
  limits.buffer_bytes = 1 << 30;
  limits.fma_flops_per_s = 400e9;
  limits.fma_level = "avx512";
  limits.vnni_ops_per_s = 1600e9;
  limits.vnni_path = "avx512vnni";
  info.limits[1] = limits;
  limits.read_bytes_per_s = 60e9;
  info.limits[2] = limits;
  return info;
}

BenchRow row(int threads, const char* test, int64_t n_prompt, int64_t n_gen) {
  BenchRow r;
  r.model_type = "mamba2 130m Q8_0";
  r.type = "q8_0";
  r.threads = threads;
  r.scan = "auto";
  r.test = test;
  r.n_prompt = n_prompt;
  r.n_gen = n_gen;
  r.kernel = "q8_0 avx512vnni";
  r.samples_ns = {1e9, 1.1e9};
  r.roofline_limit = n_prompt > 0 ? "vnni" : "memory_bandwidth";
  r.roofline_work_per_token = 1e6;
  r.roofline_pct = 42.0;
  return r;
}

// Everything `format` prints for two rows on two thread counts.
std::string print(OutputFormat format) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::tmpfile(), &std::fclose);
  const BenchInfo info = info_with_limits();
  BenchPrinter printer(file.get(), format, TableColumns{.roofline = true});
  printer.header(info);
  printer.row(info, row(1, "pp512", 512, 0));
  printer.row(info, row(2, "tg128", 0, 128));
  printer.footer(info);
  std::fflush(file.get());
  std::rewind(file.get());
  std::string text;
  for (int c; (c = std::fgetc(file.get())) != EOF;) text += static_cast<char>(c);
  return text;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(BenchOutput, CsvWithTheRooflineHasAHeaderAndEachRowsLimits) {
  const std::vector<std::string> out = lines(print(OutputFormat::kCsv));
  ASSERT_GE(out.size(), 3u);
  EXPECT_NE(out[0].find("roofline_read_bytes_per_s"), std::string::npos) << out[0];
  EXPECT_NE(out[0].find("roofline_pct"), std::string::npos) << out[0];
  // Each row's own thread count's bandwidth: 1 thread 50e9, 2 threads 60e9.
  EXPECT_NE(out[1].find("\"50000000000"), std::string::npos) << out[1];
  EXPECT_NE(out[2].find("\"60000000000"), std::string::npos) << out[2];
}

TEST(BenchOutput, JsonWithTheRooflineCarriesEachRowsLimits) {
  const nlohmann::json rows = nlohmann::json::parse(print(OutputFormat::kJson));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].at("roofline_read_bytes_per_s"), 50e9);
  EXPECT_EQ(rows[1].at("roofline_read_bytes_per_s"), 60e9);
  EXPECT_EQ(rows[0].at("roofline_limit"), "vnni");
  EXPECT_EQ(rows[1].at("roofline_pct"), 42.0);
}

TEST(BenchOutput, MarkdownWithTheRooflineShowsEachRowsPercentage) {
  const std::string text = print(OutputFormat::kMarkdown);
  EXPECT_NE(text.find("| 42.0 % of VNNI |"), std::string::npos) << text;
  EXPECT_NE(text.find("| 42.0 % of BW |"), std::string::npos) << text;
  EXPECT_NE(text.find("roofline (2 threads): read 60.0 GB/s"), std::string::npos) << text;
}

}  // namespace
}  // namespace mamba2::apps
