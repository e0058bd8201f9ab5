// One line of mamba2-bench's results (a ppN or tgN test of one combination of the flags' lists)
// and what is common to all of them; every output format is printed from these.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mamba2/machine_limits.h"

namespace mamba2::apps {

struct BenchRow {
  // The model as this row ran it (a --type list converts it once per type).
  std::string model_type;      // "mamba2 130m F32"
  uint64_t model_size = 0;     // bytes of weights
  int64_t model_n_params = 0;  //
  std::string type;            // weight type of the projections: "f32", "bf16", "q8_0"
  double load_ms = 0;          // loading (or making) and preparing the weights of this type

  // The combination of the flags' values.
  int threads = 1;
  int64_t n_batch = 0;     // -b: prompt tokens per Session::prefill call (llama-bench's n_batch)
  int64_t n_sessions = 1;  // tg rows: sessions decoding together (BatchDecoder when > 1)
  std::string scan;        // --scan as given: "auto", "chunked", ...
  int64_t chunk_size = 0;  // SSD chunk, resolved

  std::string test;                // "pp512", "tg128"
  int64_t n_prompt = 0;            // prompt tokens per session (pp rows)
  int64_t n_gen = 0;               // generated tokens per session (tg rows)
  std::string kernel;              // the projections' kernel path for this test's token count
  std::string test_time;           // UTC start, ISO 8601
  std::vector<double> samples_ns;  // wall time of each repetition

  // With --roofline: the limit this test runs against ("memory_bandwidth", "fma", "vnni", "amx",
  // "bf16"), the work per token it counts (bytes or operations) and the mean rate as a percentage
  // of the limit (absent when the CPU lacks the instructions).
  std::string roofline_limit;
  double roofline_work_per_token = 0;
  std::optional<double> roofline_pct;

  // Tokens one repetition processes, over all sessions.
  int64_t tokens_per_sample() const { return (n_prompt + n_gen) * n_sessions; }
  // Aggregate tokens/s of each repetition.
  std::vector<double> samples_ts() const;
};

// What is common to every row of a run.
struct BenchInfo {
  std::string model_filename;  // path, or "" for --size
  std::string cpu_info;
  uint64_t peak_rss_bytes = 0;          // of the whole run, before the roofline probes
  std::map<int, MachineLimits> limits;  // with --roofline: by the thread count the probes ran on
};

struct MeanStd {
  double mean = 0;
  double stddev = 0;  // sample standard deviation; 0 for one value
};
MeanStd mean_std(const std::vector<double>& values);

}  // namespace mamba2::apps
