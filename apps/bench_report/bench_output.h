// mamba2-bench's two output forms: a markdown table shaped like llama-bench's, printed row by
// row as the tests finish, and a JSON list with llama-bench's field names, printed at the end.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "bench_report/bench_row.h"

namespace mamba2::apps {

void print_table_header(std::FILE* out, bool roofline);
void print_table_row(std::FILE* out, const BenchInfo& info, const BenchRow& row);
void print_table_footer(std::FILE* out, const BenchInfo& info);

// The rows as llama-bench's `-o json` list: build_commit, cpu_info, model_type, model_size,
// model_n_params, n_batch, n_threads, n_prompt, n_gen, test_time, avg_ns, stddev_ns, avg_ts,
// stddev_ts, samples_ns, samples_ts; ours added: avg_ts_per_session, scan, chunk_size, load_ms,
// peak_rss_bytes, and with --roofline the machine's limits and each row's roofline_pct.
std::string bench_json(const BenchInfo& info, const std::vector<BenchRow>& rows);

}  // namespace mamba2::apps
