// The "% of peak" counters of the kernel benchmarks: the same probes as `mamba2-bench --roofline`
// (kernels/peak_probes.h, measure_machine_limits), timed here in this thread's CPU seconds, since
// Google Benchmark's rates divide by CPU time unless a benchmark asks for real time, and on a
// shared machine wall time also counts other processes' turns. Each peak is measured once per
// process (the median of five runs) and is one core's: a benchmark on T threads in real time
// passes T.
#pragma once

#include <benchmark/benchmark.h>

#include <optional>
#include <string>

#include "kernels/matmul_bf16.h"
#include "kernels/matmul_quant.h"
#include "kernels/simd.h"

namespace mamba2::kernels {

// f32 FLOP/s of FMAs at `level`.
double core_fma_peak(SimdLevel level);
// Integer ops/s (2 per product) of vpdpbusd at `path`; nullopt for a path without VNNI.
std::optional<double> core_vnni_peak(QuantPath path);
// FLOP/s of the arithmetic a bf16 GEMM of `path` runs on: vdpbf16ps, AMX TDPBF16PS, or f32 FMAs
// for the paths that widen to f32.
double core_bf16_peak(Bf16Path path);
// Bytes/s that `threads` threads read streaming from memory: for one thread per CPU second (as a
// benchmark's CPU-time rates), for more per wall second of them all (the --roofline probe, as a
// benchmark in real time).
double memory_read_peak(int threads);

// Adds counter `name`: the benchmark's `work_per_iteration` (in the peak's unit) as a percentage of
// `threads` x `core_peak` per second of the benchmark's time. Nothing without a peak.
void set_percent_of_peak(benchmark::State& state, const std::string& name,
                         double work_per_iteration, std::optional<double> core_peak,
                         int threads = 1);

}  // namespace mamba2::kernels
