#include "bench/kernels/peak_counters.h"

#include <algorithm>
#include <ctime>
#include <map>
#include <vector>

#include "kernels/peak_probes.h"
#include "mamba2/machine_limits.h"

namespace mamba2::kernels {
namespace {

constexpr int64_t kIterations = int64_t{1} << 22;

double thread_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

// The median rate of five runs of `probe` (returning the operations it did), per CPU second.
template <class Probe>
double median_core_rate(const Probe& probe) {
  std::vector<double> rates;
  for (int run = 0; run < 5; ++run) {
    const double start = thread_cpu_seconds();
    const auto ops = static_cast<double>(probe());
    rates.push_back(ops / (thread_cpu_seconds() - start));
  }
  std::sort(rates.begin(), rates.end());
  return rates[2];
}

// `rate` measured on first use for each key.
template <class Key, class Measure>
double remembered(std::map<Key, double>& rates, Key key, const Measure& measure) {
  const auto it = rates.find(key);
  if (it != rates.end()) return it->second;
  return rates[key] = measure();
}

}  // namespace

double core_fma_peak(SimdLevel level) {
  static std::map<SimdLevel, double> rates;
  return remembered(rates, level, [level] {
    return median_core_rate([level] {
      float sink = 0;
      const int64_t flops = dispatch_at(level, FmaProbe{}, kIterations, &sink);
      benchmark::DoNotOptimize(sink);
      return flops;
    });
  });
}

std::optional<double> core_vnni_peak(QuantPath path) {
  if (path != QuantPath::kAvx512Vnni && path != QuantPath::kAvxVnni) return std::nullopt;
  if (!path_supported(path)) return std::nullopt;
  static std::map<QuantPath, double> rates;
  return remembered(rates, path, [path] {
    return median_core_rate([path] {
      int32_t sink = 0;
      const int64_t ops = path == QuantPath::kAvx512Vnni ? vnni_probe_avx512vnni(kIterations, &sink)
                                                         : vnni_probe_avxvnni(kIterations, &sink);
      benchmark::DoNotOptimize(sink);
      return ops;
    });
  });
}

double core_bf16_peak(Bf16Path path) {
  if (!path_supported(path) || (path != Bf16Path::kAvx512Bf16 && path != Bf16Path::kAmx)) {
    return core_fma_peak(simd_level());
  }
  static std::map<Bf16Path, double> rates;
  return remembered(rates, path, [path] {
    return median_core_rate([path] {
      float sink = 0;
      // A TDPBF16PS takes ~16 cycles: a quarter of the iterations keeps the run as short.
      const int64_t flops = path == Bf16Path::kAmx ? amx_probe_bf16(kIterations / 4, &sink)
                                                   : bf16_probe_avx512bf16(kIterations, &sink);
      benchmark::DoNotOptimize(sink);
      return flops;
    });
  });
}

double memory_read_peak(int threads) {
  static std::map<int, double> rates;
  return remembered(rates, threads, [threads] {
    if (threads > 1) return measure_machine_limits(threads).read_bytes_per_s;
    // Streams 512 MiB, many times the last-level caches seen so far, each page touched first.
    std::vector<uint64_t> words(size_t{64} << 20, 1);
    return median_core_rate([&words] {
      benchmark::DoNotOptimize(read_probe(words.data(), words.size()));
      return static_cast<int64_t>(words.size() * sizeof(uint64_t));
    });
  });
}

void set_percent_of_peak(benchmark::State& state, const std::string& name,
                         double work_per_iteration, std::optional<double> core_peak, int threads) {
  if (!core_peak || *core_peak <= 0) return;
  state.counters[name] = benchmark::Counter(
      static_cast<double>(state.iterations()) * work_per_iteration * 100.0 / (*core_peak * threads),
      benchmark::Counter::kIsRate);
}

}  // namespace mamba2::kernels
