#include "bench_report/bench_output.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>

#include "mamba2/error.h"

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

OutputFormat parse_output_format(std::string_view name) {
  if (name == "md") return OutputFormat::kMarkdown;
  if (name == "csv") return OutputFormat::kCsv;
  if (name == "json") return OutputFormat::kJson;
  if (name == "jsonl") return OutputFormat::kJsonl;
  throw Error("-o", "unknown output format '" + std::string(name) + "' (md, csv, json or jsonl)");
}

namespace {

using Json = nlohmann::ordered_json;

Json optional_json(const std::optional<double>& value) {
  return value ? Json(*value) : Json(nullptr);
}

// The scalar fields of a row, in the order csv prints them (see bench_output.h).
Json row_fields(const BenchInfo& info, const BenchRow& row) {
  const MeanStd ns = mean_std(row.samples_ns);
  const MeanStd ts = mean_std(row.samples_ts());
  Json entry;
  entry["build_commit"] = MAMBA2_BUILD_COMMIT;
  entry["cpu_info"] = info.cpu_info;
  entry["backends"] = "CPU";
  entry["model_filename"] = info.model_filename;
  entry["model_type"] = row.model_type;
  entry["model_size"] = row.model_size;
  entry["model_n_params"] = row.model_n_params;
  entry["n_batch"] = row.n_batch;
  entry["n_threads"] = row.threads;
  entry["n_prompt"] = row.n_prompt;
  entry["n_gen"] = row.n_gen;
  entry["test_time"] = row.test_time;
  entry["avg_ns"] = std::llround(ns.mean);
  entry["stddev_ns"] = std::llround(ns.stddev);
  entry["avg_ts"] = ts.mean;
  entry["stddev_ts"] = ts.stddev;
  entry["type"] = row.type;
  entry["scan"] = row.scan;
  entry["chunk_size"] = row.chunk_size;
  entry["kernel"] = row.kernel;
  entry["n_sessions"] = row.n_sessions;
  entry["avg_ts_per_session"] = ts.mean / double(row.n_sessions);
  entry["load_ms"] = row.load_ms;
  entry["peak_rss_bytes"] = info.peak_rss_bytes;
  if (info.limits.empty()) return entry;
  const auto limits = info.limits.find(row.threads);
  if (limits == info.limits.end()) throw Error("mamba2-bench", "no limits for a thread count");
  const MachineLimits& l = limits->second;
  entry["roofline_read_bytes_per_s"] = l.read_bytes_per_s;
  entry["roofline_fma_flops_per_s"] = l.fma_flops_per_s;
  entry["roofline_fma_level"] = l.fma_level;
  entry["roofline_bf16_flops_per_s"] = optional_json(l.bf16_flops_per_s);
  entry["roofline_amx_flops_per_s"] = optional_json(l.amx_flops_per_s);
  entry["roofline_vnni_ops_per_s"] = optional_json(l.vnni_ops_per_s);
  entry["roofline_limit"] = row.roofline_limit;
  // Bytes for the bandwidth-bound tests, operations for the compute-bound ones.
  entry["roofline_work_per_token"] = row.roofline_work_per_token;
  entry["roofline_pct"] = optional_json(row.roofline_pct);
  return entry;
}

Json row_json(const BenchInfo& info, const BenchRow& row) {
  Json entry = row_fields(info, row);
  std::vector<int64_t> samples_ns;
  for (double value : row.samples_ns) samples_ns.push_back(std::llround(value));
  entry["samples_ns"] = samples_ns;
  entry["samples_ts"] = row.samples_ts();
  return entry;
}

// Every csv value quoted, as llama-bench writes them, with quotes doubled inside.
std::string csv_value(const Json& value) {
  const std::string text = value.is_string() ? value.get<std::string>()
                           : value.is_null()
                               ? std::string()
                               : value.dump(-1, ' ', false, Json::error_handler_t::replace);
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

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

void print_limits(std::FILE* out, int threads, const MachineLimits& limits) {
  std::fprintf(out,
               "roofline (%d threads): read %.1f GB/s (%.0f MiB buffer), f32 FMA %.1f GFLOP/s (%s)",
               threads, limits.read_bytes_per_s / 1e9, limits.buffer_bytes / (1 << 20),
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
}

}  // namespace

BenchPrinter::BenchPrinter(std::FILE* out, OutputFormat format, TableColumns columns)
    : out_(out), format_(format), columns_(columns) {}

void BenchPrinter::header(const BenchInfo& info) {
  switch (format_) {
    case OutputFormat::kMarkdown: {
      std::string names = "| model | size | params | backend | threads |";
      std::string align = "| --- | ---: | ---: | --- | ---: |";
      if (columns_.n_batch) names += " n_batch |", align += " ---: |";
      names += " type | scan | kernel |", align += " --- | --- | --- |";
      if (columns_.sessions) names += " sessions |", align += " ---: |";
      names += " test | t/s |", align += " ---: | ---: |";
      if (columns_.roofline) names += " roofline |", align += " ---: |";
      std::fprintf(out_, "%s\n%s\n", names.c_str(), align.c_str());
      break;
    }
    case OutputFormat::kCsv: {
      // The names of a row's fields; with --roofline, of a thread count that has limits.
      BenchRow any;
      if (!info.limits.empty()) any.threads = info.limits.begin()->first;
      const Json fields = row_fields(info, any);
      std::string names;
      for (const auto& [name, value] : fields.items()) {
        if (!names.empty()) names += ',';
        names += name;
      }
      std::fprintf(out_, "%s\n", names.c_str());
      break;
    }
    case OutputFormat::kJson:
      std::fprintf(out_, "[\n");
      break;
    case OutputFormat::kJsonl:
      break;
  }
  std::fflush(out_);
}

void BenchPrinter::row(const BenchInfo& info, const BenchRow& row) {
  switch (format_) {
    case OutputFormat::kMarkdown: {
      const MeanStd ts = mean_std(row.samples_ts());
      std::fprintf(out_, "| %s | %.2f MiB | %.2f M | CPU | %d |", row.model_type.c_str(),
                   double(row.model_size) / (1 << 20), double(row.model_n_params) / 1e6,
                   row.threads);
      if (columns_.n_batch) std::fprintf(out_, " %lld |", static_cast<long long>(row.n_batch));
      std::fprintf(out_, " %s | %s | %s |", row.type.c_str(), row.scan.c_str(), row.kernel.c_str());
      if (columns_.sessions) {
        std::fprintf(out_, " %lld |", static_cast<long long>(row.n_sessions));
      }
      std::fprintf(out_, " %s | %.2f ± %.2f |", row.test.c_str(), ts.mean, ts.stddev);
      if (columns_.roofline) std::fprintf(out_, " %s |", roofline_cell(row).c_str());
      std::fprintf(out_, "\n");
      break;
    }
    case OutputFormat::kCsv: {
      const Json fields = row_fields(info, row);
      std::string values;
      for (const auto& [name, value] : fields.items()) {
        if (!values.empty()) values += ',';
        values += csv_value(value);
      }
      std::fprintf(out_, "%s\n", values.c_str());
      break;
    }
    case OutputFormat::kJson: {
      const std::string dumped =
          row_json(info, row).dump(2, ' ', false, Json::error_handler_t::replace);
      std::string text;  // indented one level inside the list
      for (char c : dumped) {
        text += c;
        if (c == '\n') text += "  ";
      }
      std::fprintf(out_, "%s  %s", first_row_ ? "" : ",\n", text.c_str());
      break;
    }
    case OutputFormat::kJsonl:
      std::fprintf(
          out_, "%s\n",
          row_json(info, row).dump(-1, ' ', false, Json::error_handler_t::replace).c_str());
      break;
  }
  first_row_ = false;
  std::fflush(out_);
}

void BenchPrinter::footer(const BenchInfo& info) {
  if (format_ == OutputFormat::kJson) std::fprintf(out_, "%s]\n", first_row_ ? "" : "\n");
  if (format_ != OutputFormat::kMarkdown) return;
  std::fprintf(out_, "\npeak RSS: %.1f MiB\n", double(info.peak_rss_bytes) / (1 << 20));
  if (info.limits.empty()) return;
  for (const auto& [threads, limits] : info.limits) print_limits(out_, threads, limits);
  std::fprintf(
      out_,
      "tg: (weight bytes per step + state bytes read and written per token x sessions) x "
      "steps/s / memory read bandwidth (weights that fit the last-level cache can pass 100 %%); "
      "pp: FLOPs per token x tokens/s / the peak of the arithmetic the kernel path uses (f32: "
      "FMA; bf16: AMX, AVX512-BF16 or FMA (sgemm on widened rows); q8_0: VNNI)\n");
}

}  // namespace mamba2::apps
