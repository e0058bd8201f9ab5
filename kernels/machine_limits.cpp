#include "mamba2/machine_limits.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <latch>
#include <memory>
#include <thread>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/matmul_bf16.h"
#include "kernels/matmul_f32_panels.h"
#include "kernels/matmul_quant.h"
#include "kernels/peak_probes.h"
#include "kernels/simd.h"

namespace mamba2 {

using namespace kernels;  // the probes and the kernels' path choices

uint64_t kernels::read_probe(const uint64_t* words, size_t count) {
  uint64_t a = 0, b = 0, c = 0, d = 0;  // independent sums: the loads never wait on adds
  size_t i = 0;
  for (; i + 4 <= count; i += 4) {
    a += words[i];
    b += words[i + 1];
    c += words[i + 2];
    d += words[i + 3];
  }
  for (; i < count; ++i) a += words[i];
  return a + b + c + d;
}

namespace {

constexpr int kRuns = 5;                         // median of these
constexpr int64_t kComputeIterations = 1 << 22;  // about 10-50 ms per run at today's clocks

// Runs work(thread) on `threads` threads started together; returns the wall seconds from the
// first thread's start to the last one's end. The threads read the clock themselves: with as
// many workers as cores, the waiting main thread may only run again once a worker is done.
double timed_on_threads(int threads, const std::function<void(int)>& work) {
  using Clock = std::chrono::steady_clock;
  std::latch ready(threads);
  std::vector<Clock::time_point> starts(static_cast<size_t>(threads));
  std::vector<Clock::time_point> ends(static_cast<size_t>(threads));
  {
    std::vector<std::jthread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        ready.arrive_and_wait();
        starts[t] = Clock::now();
        work(t);
        ends[t] = Clock::now();
      });
    }
  }  // joins
  const auto first = *std::min_element(starts.begin(), starts.end());
  const auto last = *std::max_element(ends.begin(), ends.end());
  return std::chrono::duration<double>(last - first).count();
}

// Operations per second: the median over kRuns of ops done by all threads / wall time.
double median_rate(int threads, const std::function<int64_t()>& probe) {
  std::vector<double> rates;
  for (int run = 0; run < kRuns; ++run) {
    std::vector<int64_t> ops(static_cast<size_t>(threads));
    const double seconds = timed_on_threads(threads, [&](int t) { ops[t] = probe(); });
    double total = 0;
    for (int64_t count : ops) total += double(count);
    rates.push_back(total / seconds);
  }
  std::nth_element(rates.begin(), rates.begin() + kRuns / 2, rates.end());
  return rates[kRuns / 2];
}

// Four times the last-level cache, at least 256 MiB and at most 2 GiB: large enough that the
// reads come from memory, small enough to read in well under a second.
size_t bandwidth_buffer_bytes() {
  const long llc = sysconf(_SC_LEVEL3_CACHE_SIZE);
  const size_t four_llc = llc > 0 ? 4 * static_cast<size_t>(llc) : 0;
  return std::clamp<size_t>(four_llc, size_t{256} << 20, size_t{2} << 30);
}

double measure_read_bandwidth(int threads, size_t bytes) {
  const size_t words = bytes / sizeof(uint64_t);
  std::unique_ptr<uint64_t[]> buffer(new uint64_t[words]);
  auto slice = [&](int t) {
    const size_t begin = words * size_t(t) / size_t(threads);
    const size_t end = words * size_t(t + 1) / size_t(threads);
    return std::pair{begin, end};
  };
  // Each thread touches its own slice first, so the pages sit near the thread that reads them.
  timed_on_threads(threads, [&](int t) {
    const auto [begin, end] = slice(t);
    for (size_t i = begin; i < end; ++i) buffer[i] = i;
  });
  std::vector<uint64_t> sinks(static_cast<size_t>(threads) * 8);  // a cache line per thread
  std::vector<double> rates;
  for (int run = 0; run < 3; ++run) {
    const double seconds = timed_on_threads(threads, [&](int t) {
      const auto [begin, end] = slice(t);
      sinks[size_t(t) * 8] = read_probe(buffer.get() + begin, end - begin);
    });
    rates.push_back(double(words * sizeof(uint64_t)) / seconds);
  }
  volatile uint64_t used = 0;  // the sums are used, so the reads stay
  for (uint64_t sink : sinks) used = used + sink;
  std::sort(rates.begin(), rates.end());
  return rates[1];
}

}  // namespace

MachineLimits measure_machine_limits(int threads) {
  MachineLimits limits;
  const uint64_t buffer_bytes = bandwidth_buffer_bytes();
  limits.buffer_bytes = double(buffer_bytes);
  limits.read_bytes_per_s = measure_read_bandwidth(threads, buffer_bytes);

  const SimdLevel level = simd_level();
  limits.fma_level = std::string(path_name(level));
  limits.fma_flops_per_s = median_rate(threads, [] {
    float sink = 0;
    return dispatch(FmaProbe{}, kComputeIterations, &sink);
  });

  if (path_supported(Bf16Path::kAvx512Bf16)) {
    limits.bf16_flops_per_s = median_rate(threads, [] {
      float sink = 0;
      return bf16_probe_avx512bf16(kComputeIterations, &sink);
    });
  }
  if (path_supported(Bf16Path::kAmx)) {
    limits.amx_flops_per_s = median_rate(threads, [] {
      float sink = 0;
      // A TDPBF16PS takes ~16 cycles: a quarter of the iterations keeps the run as short.
      return amx_probe_bf16(kComputeIterations / 4, &sink);
    });
  }
  const QuantPath q8_0 = quant_path();
  if (q8_0 == QuantPath::kAvx512Vnni || q8_0 == QuantPath::kAvxVnni) {
    limits.vnni_path = std::string(path_name(q8_0));
    limits.vnni_ops_per_s = median_rate(threads, [q8_0] {
      int32_t sink = 0;
      return q8_0 == QuantPath::kAvx512Vnni ? vnni_probe_avx512vnni(kComputeIterations, &sink)
                                            : vnni_probe_avxvnni(kComputeIterations, &sink);
    });
  }
  return limits;
}

std::string_view arithmetic_name(ProjectionArithmetic arithmetic) {
  switch (arithmetic) {
    case ProjectionArithmetic::kBf16:
      return "bf16";
    case ProjectionArithmetic::kAmx:
      return "amx";
    case ProjectionArithmetic::kVnni:
      return "vnni";
    case ProjectionArithmetic::kFma:
      break;
  }
  return "fma";
}

std::optional<double> MachineLimits::peak(ProjectionArithmetic arithmetic) const {
  switch (arithmetic) {
    case ProjectionArithmetic::kBf16:
      return bf16_flops_per_s;
    case ProjectionArithmetic::kAmx:
      return amx_flops_per_s;
    case ProjectionArithmetic::kVnni:
      return vnni_ops_per_s;
    case ProjectionArithmetic::kFma:
      break;
  }
  return fma_flops_per_s;
}

ProjectionArithmetic projection_arithmetic(DType type, int64_t tokens) {
  if (has_quant_kernel(type)) return ProjectionArithmetic::kVnni;
  if (type != DType::kBF16) return ProjectionArithmetic::kFma;
  switch (bf16_path(tokens)) {
    case Bf16Path::kAmx:
      return ProjectionArithmetic::kAmx;
    case Bf16Path::kAvx512Bf16:
      return ProjectionArithmetic::kBf16;
    default:
      return ProjectionArithmetic::kFma;
  }
}

std::string projection_kernel(DType type, int64_t tokens) {
  const std::string name(dtype_name(type));
  // f32 weights in panels (where load found our GEMM faster) take it at every token count.
  const std::string chosen = f32_gemm_paths_chosen();
  const std::string f32_path = chosen.starts_with("panels") ? "f32 " + chosen
                               : tokens <= kGemvMaxTokens
                                   ? "f32 gemv " + std::string(path_name(simd_level()))
                                   : std::string("f32 openblas sgemm");
  if (has_quant_kernel(type)) return name + " " + std::string(path_name(quant_path()));
  if (type == DType::kBF16) return name + " " + std::string(path_name(bf16_path(tokens)));
  if (type == DType::kF32) return f32_path;
  return name + " panels to " + f32_path;  // f16 and the other block types: dequantized panels
}

}  // namespace mamba2
