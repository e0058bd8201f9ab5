// What this machine can do at most, measured by short probes (each run well under a second,
// the median of a few runs), for mamba2-bench --roofline: memory read bandwidth and the peak
// rates of the arithmetic the projection kernels use, all with `threads` threads.
#pragma once

#include <optional>
#include <string>

namespace mamba2::apps {

struct MachineLimits {
  double read_bytes_per_s = 0;             // streaming reads of a buffer much larger than the LLC
  double buffer_bytes = 0;                 // that buffer's size
  double fma_flops_per_s = 0;              // f32 FMA at the best SIMD level
  std::string fma_level;                   // "avx512", "avx2", "sse2"
  std::optional<double> bf16_flops_per_s;  // vdpbf16ps; absent without AVX512-BF16
  std::optional<double> amx_flops_per_s;   // AMX TDPBF16PS; absent where bf16 GEMMs do not use it
  std::optional<double> vnni_ops_per_s;    // vpdpbusd as the q8_0 kernel issues it; absent without
  std::string vnni_path;                   // "avx512vnni", "avxvnni" or "" (none)
};

MachineLimits measure_machine_limits(int threads);

}  // namespace mamba2::apps
