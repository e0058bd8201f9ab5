// Runs the real mamba2-bench on a fixture model: the llama-bench-shaped table and JSON, and the
// --batch row. (--roofline is left out: its bandwidth probe reads a buffer of gigabytes.)
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>

#include "tests/support/run_binary.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

// The parameters of a tied-embedding model without biases, counted from the fixture's resolved
// config: embedding, then per layer the norm, in_proj, conv weight and bias, dt_bias, A_log, D,
// the gated norm and out_proj, then the final norm.
int64_t tied_parameter_count(const nlohmann::json& c) {
  const int64_t d = c["d_model"], nheads = c["nheads"], conv_dim = c["conv_dim"];
  const int64_t layer = d + c["d_in_proj"].get<int64_t>() * d +
                        conv_dim * c["d_conv"].get<int64_t>() + conv_dim + 3 * nheads +
                        c["d_ssm"].get<int64_t>() + d * c["d_ssm"].get<int64_t>();
  return c["vocab_padded"].get<int64_t>() * d + c["n_layer"].get<int64_t>() * layer + d;
}

TEST(BenchApp, JsonHasLlamaBenchFieldsForEveryTest) {
  const auto model = testing::fixture_dir("tiny");
  const auto run = testing::run_binary(
      MAMBA2_BENCH_BIN,
      {model.string(), "-p", "16", "-n", "4", "-r", "3", "-t", "2", "--batch", "3", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto rows = nlohmann::json::parse(run.out);  // stdout holds only the JSON
  ASSERT_EQ(rows.size(), 3u);
  std::ifstream meta_file(model / "meta.json");
  const auto config = nlohmann::json::parse(meta_file).at("config_resolved");
  ASSERT_TRUE(config.at("tie_embeddings").get<bool>());
  const int64_t params = tied_parameter_count(config);
  for (const auto& row : rows) {
    EXPECT_EQ(row.at("model_n_params").get<int64_t>(), params);
    EXPECT_EQ(row.at("n_threads").get<int>(), 2);
    const auto samples = row.at("samples_ts").get<std::vector<double>>();
    ASSERT_EQ(samples.size(), 3u);
    ASSERT_EQ(row.at("samples_ns").size(), 3u);
    const double mean = std::accumulate(samples.begin(), samples.end(), 0.0) / 3;
    EXPECT_NEAR(row.at("avg_ts").get<double>(), mean, 1e-6 * mean);
    EXPECT_GT(row.at("avg_ts").get<double>(), 0);
  }
  EXPECT_EQ(rows[0].at("n_prompt"), 16);
  EXPECT_EQ(rows[0].at("n_gen"), 0);
  EXPECT_EQ(rows[1].at("n_gen"), 4);
  EXPECT_EQ(rows[1].at("n_batch"), 1);
  EXPECT_EQ(rows[2].at("n_gen"), 4);
  EXPECT_EQ(rows[2].at("n_batch"), 3);
  // Aggregate tokens/s over three sessions, three times each session's rate.
  EXPECT_NEAR(rows[2].at("avg_ts").get<double>(),
              3 * rows[2].at("avg_ts_per_session").get<double>(),
              1e-6 * rows[2].at("avg_ts").get<double>());
}

TEST(BenchApp, TableHasAHeaderAndOneRowPerTest) {
  for (const char* name : {"tiny", "m1_tiny"}) {
    const auto run =
        testing::run_binary(MAMBA2_BENCH_BIN, {testing::fixture_dir(name).string(), "-p", "8", "-n",
                                               "2", "-r", "1", "--scan", "chunked"});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_NE(run.out.find("| model"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("| pp8 |"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("| tg2 |"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("chunked"), std::string::npos) << run.out;
  }
}

TEST(BenchApp, NoModelIsAOneLineError) {
  const auto run = testing::run_binary(MAMBA2_BENCH_BIN, {"-p", "8"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(run.out.empty());
  EXPECT_EQ(run.err,
            "mamba2-bench: error: MODEL: give a model (GGUF file or directory) or --size "
            "(see --help)\n");
}

}  // namespace
}  // namespace mamba2
