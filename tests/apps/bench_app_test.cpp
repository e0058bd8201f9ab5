// Runs the real mamba2-bench on a fixture model: llama-bench's lists and output formats, each
// parsed back, the --sessions and -b rows, and one-line errors for bad lists. (--roofline is left
// out: its bandwidth probe reads a buffer of gigabytes.)
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

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
  const auto run =
      testing::run_binary(MAMBA2_BENCH_BIN, {model.string(), "-p", "16", "-n", "4", "-r", "3", "-t",
                                             "2", "--sessions", "1,3", "-o", "json"});
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
    EXPECT_EQ(row.at("n_batch").get<int>(), 2048);  // llama-bench's default
    const auto samples = row.at("samples_ts").get<std::vector<double>>();
    ASSERT_EQ(samples.size(), 3u);
    ASSERT_EQ(row.at("samples_ns").size(), 3u);
    const double mean = std::accumulate(samples.begin(), samples.end(), 0.0) / 3;
    EXPECT_NEAR(row.at("avg_ts").get<double>(), mean, 1e-6 * mean);
    EXPECT_GT(row.at("avg_ts").get<double>(), 0);
    EXPECT_FALSE(row.at("kernel").get<std::string>().empty());
  }
  EXPECT_EQ(rows[0].at("n_prompt"), 16);
  EXPECT_EQ(rows[0].at("n_gen"), 0);
  EXPECT_EQ(rows[1].at("n_gen"), 4);
  EXPECT_EQ(rows[1].at("n_sessions"), 1);
  EXPECT_EQ(rows[2].at("n_gen"), 4);
  EXPECT_EQ(rows[2].at("n_sessions"), 3);
  // Aggregate tokens/s over three sessions, three times each session's rate.
  EXPECT_NEAR(rows[2].at("avg_ts").get<double>(),
              3 * rows[2].at("avg_ts_per_session").get<double>(),
              1e-6 * rows[2].at("avg_ts").get<double>());
}

// The combinations llama-bench would run for -p 8,16 -n 0,2 -t 1,2: per thread count, pp8, pp16
// and tg2 (n = 0 is skipped), in that order.
struct ExpectedRow {
  int threads;
  int n_prompt;
  int n_gen;
};
const std::vector<ExpectedRow> kListRows = {{1, 8, 0}, {1, 16, 0}, {1, 0, 2},
                                            {2, 8, 0}, {2, 16, 0}, {2, 0, 2}};

testing::BinaryRun run_lists(const std::string& format) {
  return testing::run_binary(MAMBA2_BENCH_BIN, {testing::fixture_dir("tiny").string(), "-p", "8,16",
                                                "-n", "0,2", "-t", "1-2", "-r", "2", "-o", format});
}

void expect_list_rows(const std::vector<nlohmann::json>& rows) {
  ASSERT_EQ(rows.size(), kListRows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].at("n_threads").get<int>(), kListRows[i].threads) << i;
    EXPECT_EQ(rows[i].at("n_prompt").get<int>(), kListRows[i].n_prompt) << i;
    EXPECT_EQ(rows[i].at("n_gen").get<int>(), kListRows[i].n_gen) << i;
    EXPECT_GT(rows[i].at("avg_ts").get<double>(), 0) << i;
  }
}

TEST(BenchApp, JsonListHasOneRowPerCombination) {
  const auto run = run_lists("json");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto rows = nlohmann::json::parse(run.out);
  ASSERT_TRUE(rows.is_array());
  expect_list_rows(std::vector<nlohmann::json>(rows.begin(), rows.end()));
}

TEST(BenchApp, JsonlHasOneObjectPerLine) {
  const auto run = run_lists("jsonl");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::vector<nlohmann::json> rows;
  std::istringstream lines(run.out);
  for (std::string line; std::getline(lines, line);) rows.push_back(nlohmann::json::parse(line));
  expect_list_rows(rows);
  EXPECT_EQ(rows[0].at("samples_ns").size(), 2u);
}

// Splits one CSV line whose every value is quoted, as llama-bench writes them.
std::vector<std::string> csv_cells(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      cell += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      cells.push_back(cell);
      cell.clear();
    } else {
      cell += c;
    }
  }
  cells.push_back(cell);
  return cells;
}

TEST(BenchApp, CsvHasAHeaderAndTheJsonFields) {
  const auto run = run_lists("csv");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::istringstream lines(run.out);
  std::string line;
  ASSERT_TRUE(std::getline(lines, line));
  const std::vector<std::string> names = csv_cells(line);
  EXPECT_EQ(names.front(), "build_commit");
  std::vector<nlohmann::json> rows;
  while (std::getline(lines, line)) {
    const std::vector<std::string> cells = csv_cells(line);
    ASSERT_EQ(cells.size(), names.size()) << line;
    nlohmann::json row;
    for (size_t i = 0; i < names.size(); ++i) {
      // Numbers back to numbers, the rest stays text.
      const auto number = nlohmann::json::parse(cells[i], nullptr, false);
      row[names[i]] = number.is_number() ? number : nlohmann::json(cells[i]);
    }
    rows.push_back(row);
  }
  expect_list_rows(rows);
  EXPECT_EQ(rows[0].at("backends"), "CPU");
}

TEST(BenchApp, MarkdownHasOneRowPerCombination) {
  const auto run = run_lists("md");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::istringstream lines(run.out);
  std::vector<std::string> table;
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("|")) table.push_back(line);
  }
  ASSERT_EQ(table.size(), 2 + kListRows.size()) << run.out;
  EXPECT_TRUE(table[0].starts_with("| model | size | params | backend | threads |")) << table[0];
  EXPECT_NE(table[0].find("| type | scan | kernel |"), std::string::npos) << table[0];
  EXPECT_NE(table[0].find("| test | t/s |"), std::string::npos) << table[0];
  for (size_t i = 0; i < kListRows.size(); ++i) {
    const ExpectedRow& want = kListRows[i];
    const std::string test = want.n_prompt > 0 ? "| pp" + std::to_string(want.n_prompt) + " |"
                                               : "| tg" + std::to_string(want.n_gen) + " |";
    EXPECT_NE(table[2 + i].find(test), std::string::npos) << table[2 + i];
    EXPECT_NE(table[2 + i].find("| CPU | " + std::to_string(want.threads) + " |"),
              std::string::npos)
        << table[2 + i];
  }
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

TEST(BenchApp, PromptsRunInPiecesOfTheBatchSize) {
  // -b 4 runs pp8 as two prefill calls: the n_batch column appears, and the rows say 4.
  const auto run = testing::run_binary(
      MAMBA2_BENCH_BIN,
      {testing::fixture_dir("tiny").string(), "-p", "8", "-n", "0", "-b", "4,8", "-r", "1"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("| n_batch |"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("| 4 |"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("| 8 |"), std::string::npos) << run.out;
}

TEST(BenchApp, BadListsAndFormatsAreOneLineErrors) {
  const std::string model = testing::fixture_dir("tiny").string();
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"-p", "16,,64"}, "mamba2-bench: error: -p: empty item in ',64'\n"},
      {{"-t", "0"}, "mamba2-bench: error: -t: '0': values must be at least 1\n"},
      {{"-n", "8-4"}, "mamba2-bench: error: -n: '8-4': the range is empty (last below first)\n"},
      {{"-b", "4-16*1"},
       "mamba2-bench: error: -b: '4-16*1': the step does not advance the range\n"},
      {{"-o", "xml"},
       "mamba2-bench: error: -o: unknown output format 'xml' (md, csv, json or jsonl)\n"},
      {{"--scan", "chunked,fast"},
       "mamba2-bench: error: --scan: unknown scan 'fast' (expected auto, chunked, associative or "
       "recurrent)\n"},
      {{"--type", "f32,q9"},
       "mamba2-bench: error: --type: unknown type 'q9' (f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, "
       "q5_1, q2_K, q3_K, q4_K, q5_K, q6_K, iq4_nl, iq4_xs)\n"},
  };
  for (const auto& [flags, message] : cases) {
    std::vector<std::string> args = {model};
    args.insert(args.end(), flags.begin(), flags.end());
    const auto run = testing::run_binary(MAMBA2_BENCH_BIN, args);
    EXPECT_EQ(run.exit_code, 1) << flags[1];
    EXPECT_TRUE(run.out.empty()) << flags[1];
    EXPECT_EQ(run.err, message);
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
