// The selective scan of Mamba-1 (mamba_simple.py; selective_scan_ref), per channel range.
//
// Shapes: T tokens, D channels (d_inner), N = d_state; every channel has its own dt and its own
// row of A, and all channels share B and C:
//   x[t * ld_x + d]      the conv output                           [T, D]
//   dt[t * ld_dt + d]    softplus(dt_proj(dt_low) + bias)           [T, D]
//   B[t * ld_bc + n]     x_proj's B part                            [T, N]
//   C[t * ld_bc + n]     x_proj's C part                            [T, N]
//   A[d * N + n]         -exp(A_log)                                [D, N]
//   D[d]                 the skip                                   [D]
//   state[d * N + n]                                                [D, N]
//   y[t * ld_y + d]      scan output including D * x               [T, D]
//
// The recurrence, with a_t = exp(dt_t[d] * A[d]) per state entry:
//   h_t = a_t o h_{t-1} + dt_t[d] x_t[d] B_t,   y_t[d] = C_t . h_t + D[d] x_t[d]
// is linear in h: (a, b) o (a', b') = (a a', a' b + b') is associative, so a block's effect on
// the state is a pair (decay, state_local) and blocks combine by a parallel prefix:
//   selective_scan:        runs the block from `state` (updated in place), writes y; the
//                          recurrent path and decode (T = 1), and the chunked path, which keeps a
//                          channel's state in registers over the whole block and reads y out as
//                          it goes
//   selective_scan_state:  state_local = the block's final state from zero; decay = prod_t a_t
//   selective_state_pass:  state_out = decay o state_in + state_local
#pragma once

#include <cstdint>

namespace mamba2::kernels {

struct SelectiveScanChunk {
  int64_t tokens;   // T >= 1
  int64_t d_state;  // N
  const float* x;
  int64_t ld_x;
  const float* dt;
  int64_t ld_dt;
  const float* B;
  const float* C;
  int64_t ld_bc;
  const float* A;
  const float* D;
};

// Channels [d_begin, d_end): state advanced over the block, y written.
void selective_scan(const SelectiveScanChunk& chunk, float* state, float* y, int64_t ld_y,
                    int64_t d_begin, int64_t d_end);
// Channels [d_begin, d_end): state_local and decay, both [D, N].
void selective_scan_state(const SelectiveScanChunk& chunk, float* state_local, float* decay,
                          int64_t d_begin, int64_t d_end);
// Entries [begin, end) of [D, N]; state_out may alias state_in or state_local.
void selective_state_pass(const float* decay, const float* state_in, const float* state_local,
                          float* state_out, int64_t begin, int64_t end);

namespace ref {
void selective_scan(const SelectiveScanChunk& chunk, float* state, float* y, int64_t ld_y,
                    int64_t d_begin, int64_t d_end);
void selective_scan_state(const SelectiveScanChunk& chunk, float* state_local, float* decay,
                          int64_t d_begin, int64_t d_end);
// (selective_state_pass is one multiply-add per entry: its tests spell it out.)
}  // namespace ref

// The xsimd implementations (selective_scan_simd.cpp), SIMD over the state axis.
struct SelectiveScanKernel {
  template <class Arch>
  void operator()(Arch, const SelectiveScanChunk& chunk, float* state, float* y, int64_t ld_y,
                  int64_t d_begin, int64_t d_end) const;
};

struct SelectiveScanStateKernel {
  template <class Arch>
  void operator()(Arch, const SelectiveScanChunk& chunk, float* state_local, float* decay,
                  int64_t d_begin, int64_t d_end) const;
};

struct SelectiveStatePassKernel {
  template <class Arch>
  void operator()(Arch, const float* decay, const float* state_in, const float* state_local,
                  float* state_out, int64_t begin, int64_t end) const;
};

}  // namespace mamba2::kernels
