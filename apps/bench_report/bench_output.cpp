#include "bench_report/bench_output.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>

namespace mamba2::apps {

std::vector<double> BenchRow::samples_ts() const {
  std::vector<double> rates;
  for (double ns : samples_ns) rates.push_back(double(tokens_per_sample()) * 1e9 / ns);
  return rates;
}

MeanStd mean_std(const std::vector<double>& values) {
  MeanStd stats;
  if (values.empty()) return stats;
  stats.mean = std::accumulate(values.begin(), values.end(), 0.0) / double(values.size());
  for (double value : values) stats.stddev += (value - stats.mean) * (value - stats.mean);
  stats.stddev = values.size() > 1 ? std::sqrt(stats.stddev / double(values.size() - 1)) : 0.0;
  return stats;
}

namespace {

std::string roofline_cell(const BenchRow& row) {
  if (!row.roofline_pct) return "n/a";
  const char* limit = row.roofline_limit == "memory_bandwidth" ? "of BW"
                      : row.roofline_limit == "vnni"           ? "of VNNI"
                      : row.roofline_limit == "amx"            ? "of AMX"
                      : row.roofline_limit == "bf16"           ? "of BF16"
                                                               : "of FMA";
  char text[64];
  std::snprintf(text, sizeof text, "%.1f %% %s", *row.roofline_pct, limit);
  return text;
}

nlohmann::ordered_json optional_json(const std::optional<double>& value) {
  return value ? nlohmann::ordered_json(*value) : nlohmann::ordered_json(nullptr);
}

}  // namespace

void print_table_header(std::FILE* out, bool roofline) {
  std::fprintf(out, "| model | size | params | backend | threads | scan | batch | test | t/s |%s\n",
               roofline ? " roofline |" : "");
  std::fprintf(out, "| --- | ---: | ---: | --- | ---: | --- | ---: | ---: | ---: |%s\n",
               roofline ? " ---: |" : "");
}

void print_table_row(std::FILE* out, const BenchInfo& info, const BenchRow& row) {
  const MeanStd ts = mean_std(row.samples_ts());
  std::fprintf(out, "| %s | %.2f MiB | %.2f M | CPU | %d | %s | %lld | %s | %.2f ± %.2f |",
               info.model_type.c_str(), double(info.model_size) / (1 << 20),
               double(info.model_n_params) / 1e6, info.threads, info.scan.c_str(),
               static_cast<long long>(row.n_batch), row.test.c_str(), ts.mean, ts.stddev);
  if (info.limits) std::fprintf(out, " %s |", roofline_cell(row).c_str());
  std::fprintf(out, "\n");
  std::fflush(out);
}

void print_table_footer(std::FILE* out, const BenchInfo& info) {
  std::fprintf(out, "\nload: %.3f s, peak RSS: %.1f MiB\n", info.load_ms / 1000.0,
               double(info.peak_rss_bytes) / (1 << 20));
  if (!info.limits) return;
  const MachineLimits& limits = *info.limits;
  std::fprintf(out,
               "roofline (%d threads): read %.1f GB/s (%.0f MiB buffer), f32 FMA %.1f GFLOP/s (%s)",
               info.threads, limits.read_bytes_per_s / 1e9, limits.buffer_bytes / (1 << 20),
               limits.fma_flops_per_s / 1e9, limits.fma_level.c_str());
  if (limits.bf16_flops_per_s) {
    std::fprintf(out, ", AVX512-BF16 %.1f GFLOP/s", *limits.bf16_flops_per_s / 1e9);
  } else {
    std::fprintf(out, ", AVX512-BF16 n/a");
  }
  if (limits.amx_flops_per_s) {
    std::fprintf(out, ", AMX-BF16 %.1f GFLOP/s", *limits.amx_flops_per_s / 1e9);
  }
  if (limits.vnni_ops_per_s) {
    std::fprintf(out, ", VNNI %.1f GOP/s (%s)\n", *limits.vnni_ops_per_s / 1e9,
                 limits.vnni_path.c_str());
  } else {
    std::fprintf(out, ", VNNI n/a\n");
  }
  std::fprintf(
      out,
      "tg: (weight bytes per step + state bytes read and written per token x batch) x "
      "steps/s / memory read bandwidth (weights that fit the last-level cache can pass 100 %%); "
      "pp: FLOPs per token x tokens/s / peak (f32 weights: FMA peak; bf16: the peak of the "
      "path its prompts take here, AMX, AVX512-BF16 or FMA (sgemm on widened rows); q8_0: "
      "VNNI peak)\n");
}

std::string bench_json(const BenchInfo& info, const std::vector<BenchRow>& rows) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const BenchRow& row : rows) {
    const MeanStd ns = mean_std(row.samples_ns);
    const std::vector<double> samples_ts = row.samples_ts();
    const MeanStd ts = mean_std(samples_ts);
    std::vector<int64_t> samples_ns;
    for (double value : row.samples_ns) samples_ns.push_back(std::llround(value));
    nlohmann::ordered_json entry;
    entry["build_commit"] = MAMBA2_BUILD_COMMIT;
    entry["cpu_info"] = info.cpu_info;
    entry["backends"] = "CPU";
    entry["model_filename"] = info.model_filename;
    entry["model_type"] = info.model_type;
    entry["model_size"] = info.model_size;
    entry["model_n_params"] = info.model_n_params;
    entry["n_batch"] = row.n_batch;
    entry["n_threads"] = info.threads;
    entry["n_prompt"] = row.n_prompt;
    entry["n_gen"] = row.n_gen;
    entry["test_time"] = row.test_time;
    entry["avg_ns"] = std::llround(ns.mean);
    entry["stddev_ns"] = std::llround(ns.stddev);
    entry["avg_ts"] = ts.mean;
    entry["stddev_ts"] = ts.stddev;
    entry["samples_ns"] = samples_ns;
    entry["samples_ts"] = samples_ts;
    entry["avg_ts_per_session"] = ts.mean / double(row.n_batch);
    entry["scan"] = info.scan;
    entry["chunk_size"] = info.chunk_size;
    entry["load_ms"] = info.load_ms;
    entry["peak_rss_bytes"] = info.peak_rss_bytes;
    if (info.limits) {
      const MachineLimits& limits = *info.limits;
      entry["roofline_read_bytes_per_s"] = limits.read_bytes_per_s;
      entry["roofline_fma_flops_per_s"] = limits.fma_flops_per_s;
      entry["roofline_fma_level"] = limits.fma_level;
      entry["roofline_bf16_flops_per_s"] = optional_json(limits.bf16_flops_per_s);
      entry["roofline_amx_flops_per_s"] = optional_json(limits.amx_flops_per_s);
      entry["roofline_vnni_ops_per_s"] = optional_json(limits.vnni_ops_per_s);
      entry["roofline_limit"] = row.roofline_limit;
      entry[row.roofline_limit == "memory_bandwidth" ? "roofline_bytes_per_token"
                                                     : "roofline_ops_per_token"] =
          row.roofline_work_per_token;
      entry["roofline_pct"] = optional_json(row.roofline_pct);
    }
    list.push_back(std::move(entry));
  }
  return list.dump(2);
}

}  // namespace mamba2::apps
