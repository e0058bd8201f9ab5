// The decode step of the SSD scan: one token per call, the state updated in place.
// One pass over each head's [P, N] state does the decay, the dt x B^T input and the C read-out,
// so the state is read and written once per token.
#include "kernels/ssd_step_simd.h"

#include <algorithm>

#include "kernels/simd.h"
#include "kernels/ssd_decay.h"

namespace mamba2::kernels {
namespace {

// How far ahead of the row being updated the step asks for state lines, in floats (4 KiB: eight
// rows of 130m's d_state 128, one page). A head tile's state is one contiguous stream, but the
// hardware prefetchers stop at every 4 KiB page, and a decode step's state comes from L3 or
// memory (24 layers of 130m are 19 MB, eight sessions 152 MB). bench_ssd BM_SsdStep over 192
// layer states (avx512, medians of 5 alternating rounds) took 0.70x (1 thread) and 0.75x
// (2 threads) the time without it, from 1.29x / 1.23x BM_StateReadWriteFloor to 0.85x / 1.0x;
// 1 to 8 KiB ahead all helped. A write prefetch, since every line read is written back.
constexpr int64_t kPrefetchFloats = 4096 / sizeof(float);
constexpr int64_t kLineFloats = 64 / sizeof(float);

// Asks for the state lines of [begin, begin + count) within the tile's [0, end) floats.
inline void prefetch_state(float* state, int64_t begin, int64_t count, int64_t end) {
  for (int64_t i = begin; i < std::min(begin + count, end); i += kLineFloats) {
    __builtin_prefetch(state + i, 1, 3);
  }
}

}  // namespace

template <class Arch>
void SsdStepKernel::operator()(Arch, const SsdShape& shape, const float* x, const float* B,
                               const float* C, const float* dt, const float* A, const float* D,
                               float* state, float* y, int64_t h_begin, int64_t h_end) const {
  using Batch = xsimd::batch<float, Arch>;
  constexpr int64_t kLanes = Batch::size;
  const int64_t P = shape.headdim, N = shape.d_state;
  const int64_t body = N - N % kLanes;
  const int64_t heads_per_group = shape.heads / shape.groups;
  const int64_t tile_end = h_end * P * N;  // state floats of this head range end here
  for (int64_t h = h_begin; h < h_end; ++h) {
    const float* B_g = B + (h / heads_per_group) * N;
    const float* C_g = C + (h / heads_per_group) * N;
    const float a = decay_exp(dt[h] * A[h]);
    const Batch a_v(a);
    // One pass over each state row: decay, add dt x B, read out with C.
    for (int64_t p = 0; p < P; ++p) {
      const int64_t row = (h * P + p) * N;
      float* S = state + row;
      prefetch_state(state, row + kPrefetchFloats, N, tile_end);
      const float dtx = dt[h] * x[h * P + p];
      const Batch dtx_v(dtx);
      // Four partial sums, so the read-out FMAs do not wait on each other's latency.
      Batch acc[4] = {Batch(0.0f), Batch(0.0f), Batch(0.0f), Batch(0.0f)};
      const auto update = [&](int64_t n, Batch& partial) {
        const Batch s =
            xsimd::fma(a_v, Batch::load_unaligned(S + n), dtx_v * Batch::load_unaligned(B_g + n));
        s.store_unaligned(S + n);
        partial = xsimd::fma(s, Batch::load_unaligned(C_g + n), partial);
      };
      int64_t vec = 0;
      for (; vec + 4 * kLanes <= body; vec += 4 * kLanes) {
        for (int u = 0; u < 4; ++u) update(vec + u * kLanes, acc[u]);
      }
      for (; vec < body; vec += kLanes) update(vec, acc[0]);
      float sum = xsimd::hadd((acc[0] + acc[1]) + (acc[2] + acc[3]));
      for (int64_t n = body; n < N; ++n) {
        S[n] = a * S[n] + dtx * B_g[n];
        sum += S[n] * C_g[n];
      }
      const float d = shape.d_has_hdim ? D[h * P + p] : D[h];
      y[h * P + p] = sum + d * x[h * P + p];
    }
  }
}

MAMBA2_INSTANTIATE_KERNEL(void SsdStepKernel::operator(), const SsdShape&, const float*,
                          const float*, const float*, const float*, const float*, const float*,
                          float*, float*, int64_t, int64_t);

}  // namespace mamba2::kernels
