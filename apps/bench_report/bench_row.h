// One line of mamba2-bench's results (a ppN or tgN test) and what is common to all of them; the
// table and the JSON list are both printed from these.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mamba2/machine_limits.h"

namespace mamba2::apps {

struct BenchRow {
  std::string test;                // "pp512", "tg128"
  int64_t n_prompt = 0;            // prompt tokens per session (pp rows)
  int64_t n_gen = 0;               // generated tokens per session (tg rows)
  int64_t n_batch = 1;             // sessions stepped together (tg rows; 1 for pp)
  std::string test_time;           // UTC start, ISO 8601
  std::vector<double> samples_ns;  // wall time of each repetition

  // With --roofline: the limit this test runs against ("memory_bandwidth", "fma", "vnni", "amx",
  // "bf16"), the work per token it counts (bytes or operations) and the mean rate as a percentage
  // of the limit (absent when the CPU lacks the instructions).
  std::string roofline_limit;
  double roofline_work_per_token = 0;
  std::optional<double> roofline_pct;

  // Tokens one repetition processes, over all sessions.
  int64_t tokens_per_sample() const { return (n_prompt + n_gen) * n_batch; }
  // Aggregate tokens/s of each repetition.
  std::vector<double> samples_ts() const;
};

struct BenchInfo {
  std::string model_filename;  // path, or "" for --size
  std::string model_type;      // "mamba2 130m F32"
  uint64_t model_size = 0;     // bytes of weights
  int64_t model_n_params = 0;
  std::string cpu_info;
  int threads = 1;
  std::string scan;
  int64_t chunk_size = 0;
  double load_ms = 0;
  uint64_t peak_rss_bytes = 0;
  std::optional<MachineLimits> limits;  // with --roofline
};

struct MeanStd {
  double mean = 0;
  double stddev = 0;  // sample standard deviation; 0 for one value
};
MeanStd mean_std(const std::vector<double>& values);

}  // namespace mamba2::apps
