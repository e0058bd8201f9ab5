// The selective scan with a channel's state in registers: SIMD over the state axis (d_state 16 is
// one AVX-512 vector, two AVX2 ones), the channel's whole block of tokens streamed past it, and
// the C read-out fused into the update, so the state is loaded and stored once per block.
// B and C rows are shared by all channels of the range and stay in L1.
#include <cmath>

#include "kernels/selective_scan.h"
#include "kernels/simd.h"

namespace mamba2::kernels {
namespace {

// The state of one channel in registers: kMaxVecs vectors cover d_state up to kMaxVecs lanes of
// vectors; wider states run in slices.
constexpr int kMaxVecs = 4;

// Runs channel d's state entries [n0, n0 + kVecs * lanes) over the block (from zero, or from
// h_out), adding their C . h to y unless y is null; the entries are stored back at the end.
template <class Arch, int kVecs>
void scan_slice(const SelectiveScanChunk& c, int64_t d, int64_t n0, float* h_out, float* y,
                int64_t ld_y, bool from_zero) {
  using Batch = xsimd::batch<float, Arch>;
  constexpr int64_t kLanes = Batch::size;
  const int64_t N = c.d_state;
  Batch a[kVecs], h[kVecs];
  for (int v = 0; v < kVecs; ++v) {
    a[v] = Batch::load_unaligned(c.A + d * N + n0 + v * kLanes);
    h[v] = from_zero ? Batch(0.0f) : Batch::load_unaligned(h_out + n0 + v * kLanes);
  }
  for (int64_t t = 0; t < c.tokens; ++t) {
    const float dt = c.dt[t * c.ld_dt + d];
    const Batch dt_v(dt), dtx_v(dt * c.x[t * c.ld_x + d]);
    const float* B = c.B + t * c.ld_bc + n0;
    Batch sum(0.0f);
    for (int v = 0; v < kVecs; ++v) {
      h[v] =
          xsimd::fma(xsimd::exp(dt_v * a[v]), h[v], dtx_v * Batch::load_unaligned(B + v * kLanes));
      if (y)
        sum = xsimd::fma(Batch::load_unaligned(c.C + t * c.ld_bc + n0 + v * kLanes), h[v], sum);
    }
    if (y) y[t * ld_y + d] += xsimd::hadd(sum);
  }
  for (int v = 0; v < kVecs; ++v) h[v].store_unaligned(h_out + n0 + v * kLanes);
}

// The whole state of channel d: vector slices, then the scalar tail. y (when not null) must
// hold D x on entry; the read-out is added.
template <class Arch>
void scan_channel(const SelectiveScanChunk& c, int64_t d, float* h, float* y, int64_t ld_y,
                  bool from_zero) {
  constexpr int64_t kLanes = xsimd::batch<float, Arch>::size;
  const int64_t N = c.d_state;
  int64_t n0 = 0;
  for (; n0 + kMaxVecs * kLanes <= N; n0 += kMaxVecs * kLanes) {
    scan_slice<Arch, kMaxVecs>(c, d, n0, h, y, ld_y, from_zero);
  }
  for (; n0 + kLanes <= N; n0 += kLanes) scan_slice<Arch, 1>(c, d, n0, h, y, ld_y, from_zero);
  for (int64_t n = n0; n < N; ++n) {
    float s = from_zero ? 0.0f : h[n];
    for (int64_t t = 0; t < c.tokens; ++t) {
      const float dt = c.dt[t * c.ld_dt + d];
      s = std::exp(dt * c.A[d * N + n]) * s + dt * c.x[t * c.ld_x + d] * c.B[t * c.ld_bc + n];
      if (y) y[t * ld_y + d] += c.C[t * c.ld_bc + n] * s;
    }
    h[n] = s;
  }
}

}  // namespace

template <class Arch>
void SelectiveScanKernel::operator()(Arch, const SelectiveScanChunk& chunk, float* state, float* y,
                                     int64_t ld_y, int64_t d_begin, int64_t d_end) const {
  for (int64_t t = 0; t < chunk.tokens; ++t) {
    for (int64_t d = d_begin; d < d_end; ++d) {
      y[t * ld_y + d] = chunk.D[d] * chunk.x[t * chunk.ld_x + d];
    }
  }
  for (int64_t d = d_begin; d < d_end; ++d) {
    scan_channel<Arch>(chunk, d, state + d * chunk.d_state, y, ld_y, false);
  }
}

template <class Arch>
void SelectiveScanStateKernel::operator()(Arch, const SelectiveScanChunk& chunk, float* state_local,
                                          float* decay, int64_t d_begin, int64_t d_end) const {
  using Batch = xsimd::batch<float, Arch>;
  constexpr int64_t kLanes = Batch::size;
  const int64_t N = chunk.d_state;
  for (int64_t d = d_begin; d < d_end; ++d) {
    scan_channel<Arch>(chunk, d, state_local + d * N, nullptr, 0, true);
    float dt_sum = 0.0f;
    for (int64_t t = 0; t < chunk.tokens; ++t) dt_sum += chunk.dt[t * chunk.ld_dt + d];
    // prod_t exp(dt_t A) = exp(A sum_t dt_t).
    const Batch sum_v(dt_sum);
    int64_t n = 0;
    for (; n + kLanes <= N; n += kLanes) {
      xsimd::exp(sum_v * Batch::load_unaligned(chunk.A + d * N + n))
          .store_unaligned(decay + d * N + n);
    }
    for (; n < N; ++n) decay[d * N + n] = std::exp(dt_sum * chunk.A[d * N + n]);
  }
}

template <class Arch>
void SelectiveStatePassKernel::operator()(Arch, const float* decay, const float* state_in,
                                          const float* state_local, float* state_out, int64_t begin,
                                          int64_t end) const {
  using Batch = xsimd::batch<float, Arch>;
  constexpr int64_t kLanes = Batch::size;
  int64_t i = begin;
  for (; i + kLanes <= end; i += kLanes) {
    xsimd::fma(Batch::load_unaligned(decay + i), Batch::load_unaligned(state_in + i),
               Batch::load_unaligned(state_local + i))
        .store_unaligned(state_out + i);
  }
  for (; i < end; ++i) state_out[i] = decay[i] * state_in[i] + state_local[i];
}

MAMBA2_INSTANTIATE_KERNEL(void SelectiveScanKernel::operator(), const SelectiveScanChunk&, float*,
                          float*, int64_t, int64_t, int64_t);
MAMBA2_INSTANTIATE_KERNEL(void SelectiveScanStateKernel::operator(), const SelectiveScanChunk&,
                          float*, float*, int64_t, int64_t);
MAMBA2_INSTANTIATE_KERNEL(void SelectiveStatePassKernel::operator(), const float*, const float*,
                          const float*, float*, int64_t, int64_t);

}  // namespace mamba2::kernels
