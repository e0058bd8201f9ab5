// Short probes behind measure_machine_limits (mamba2-bench --roofline). The compute ones run
// `iterations` rounds of independent accumulator chains held in registers (enough chains to cover
// the instruction's latency) and return the operations they did. `sink` receives a value from the
// accumulators so the work is not optimised away. The intrinsics probes may run only where the CPU
// has the extension.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mamba2::kernels {

// f32 fused multiply-adds (2 FLOPs each) at the xsimd level MAMBA2_SIMD_ARCH; dispatched.
struct FmaProbe {
  template <class Arch>
  int64_t operator()(Arch, int64_t iterations, float* sink) const;
};

// vdpbf16ps: 16 lanes x 2 bf16 products, accumulated in f32 (64 FLOPs per instruction).
int64_t bf16_probe_avx512bf16(int64_t iterations, float* sink);
// TDPBF16PS on four 16 x 16 accumulator tiles: 16 x 16 x 32 products each (16384 FLOPs).
int64_t amx_probe_bf16(int64_t iterations, float* sink);
// vpdpbusd: 16 lanes x 4 u8 x s8 products into int32 (128 ops per instruction).
int64_t vnni_probe_avx512vnni(int64_t iterations, int32_t* sink);
// The 256-bit AVX-VNNI form (64 ops per instruction).
int64_t vnni_probe_avxvnni(int64_t iterations, int32_t* sink);

// Reads `count` words once, streaming, and returns their sum (for the caller to keep, so the reads
// stay): the read-bandwidth probe, on a buffer much larger than the last-level cache.
uint64_t read_probe(const uint64_t* words, size_t count);

}  // namespace mamba2::kernels
