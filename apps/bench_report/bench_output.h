// mamba2-bench's output formats, llama-bench's `-o md|csv|json|jsonl`: a markdown table, CSV with
// a header line, a JSON list, or one JSON object per line. csv and the JSON forms carry
// llama-bench's field names in its order where a field means the same (build_commit, cpu_info,
// backends, model_filename, model_type, model_size, model_n_params, n_batch, n_threads, n_prompt,
// n_gen, test_time, avg_ns, stddev_ns, avg_ts, stddev_ts), then ours (type, scan, chunk_size,
// kernel, n_sessions, avg_ts_per_session, load_ms, peak_rss_bytes, and with --roofline the
// limits of the row's thread count and roofline_pct); the JSON forms add samples_ns and
// samples_ts.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "bench_report/bench_row.h"

namespace mamba2::apps {

enum class OutputFormat { kMarkdown, kCsv, kJson, kJsonl };

// "md", "csv", "json" or "jsonl"; throws Error naming -o otherwise.
OutputFormat parse_output_format(std::string_view name);

// The markdown table's optional columns, shown as llama-bench shows a parameter: when it was
// given a value other than the default, or more than one.
struct TableColumns {
  bool n_batch = false;
  bool sessions = false;
  bool roofline = false;
};

class BenchPrinter {
 public:
  BenchPrinter(std::FILE* out, OutputFormat format, TableColumns columns);

  void header(const BenchInfo& info);
  void row(const BenchInfo& info, const BenchRow& row);
  void footer(const BenchInfo& info);

 private:
  std::FILE* out_;
  OutputFormat format_;
  TableColumns columns_;
  bool first_row_ = true;
};

}  // namespace mamba2::apps
