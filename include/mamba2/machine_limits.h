// What this machine can do at most, measured by short probes (each run well under a second, the
// median of a few runs): memory read bandwidth and the peak rates of the arithmetic the
// projection kernels use. mamba2-bench --roofline gives each row as a share of one of them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "mamba2/dtype.h"

namespace mamba2 {

// The arithmetic a projection runs on, and so the peak that bounds a prompt's speed.
enum class ProjectionArithmetic {
  kFma,   // f32 FMA (f32 weights, or bf16 rows widened to f32)
  kBf16,  // vdpbf16ps
  kAmx,   // AMX TDPBF16PS
  kVnni,  // vpdpbusd (q8_0)
};

// "fma", "bf16", "amx" or "vnni".
std::string_view arithmetic_name(ProjectionArithmetic arithmetic);

struct MachineLimits {
  double read_bytes_per_s = 0;             // streaming reads of a buffer much larger than the LLC
  double buffer_bytes = 0;                 // that buffer's size
  double fma_flops_per_s = 0;              // f32 FMA at the best SIMD level
  std::string fma_level;                   // "avx512", "avx2", "sse2"
  std::optional<double> bf16_flops_per_s;  // vdpbf16ps; absent without AVX512-BF16
  std::optional<double> amx_flops_per_s;   // AMX TDPBF16PS; absent where bf16 GEMMs do not use it
  std::optional<double> vnni_ops_per_s;    // vpdpbusd as the q8_0 kernel issues it; absent without
  std::string vnni_path;                   // "avx512vnni", "avxvnni" or "" (none)

  // The measured peak rate of `arithmetic`; nullopt where this machine has none.
  std::optional<double> peak(ProjectionArithmetic arithmetic) const;
};

// Runs the probes on `threads` threads started together.
MachineLimits measure_machine_limits(int threads);

// What a projection of `tokens` tokens with weights of `type` runs on, on this CPU.
ProjectionArithmetic projection_arithmetic(DType type, int64_t tokens);

// The kernel path such a projection takes, as benchmarks name it: "f32 gemv avx512",
// "f32 openblas sgemm", "f32 panels avx512" (our GEMM, once a model loaded has chosen it; with
// " + openblas sgemm" where some shapes kept OpenBLAS), "bf16 amx", "q8_0 avx512vnni", ...
std::string projection_kernel(DType type, int64_t tokens);

}  // namespace mamba2
