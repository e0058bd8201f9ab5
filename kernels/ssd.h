// The SSD (state space duality) scan of Mamba-2, per chunk of tokens and per head range.
//
// Shapes: T tokens in the chunk, H heads of P channels (headdim), N = d_state, G groups;
// head h uses group h / (H / G).
//   x[t * ld_x + h * P + p]        the conv output's x part          [T, H*P]
//   B[t * ld_bc + g * N + n]       the conv output's B part          [T, G*N]
//   C[t * ld_bc + g * N + n]       the conv output's C part          [T, G*N]
//   dt[t * H + h]                  softplus'd and clamped            [T, H]
//   A[h]                           -exp(A_log)                       [H]
//   D[h] or D[h * P + p] (D_has_hdim)
//   state[(h * P + p) * N + n]                                       [H, P, N]
//   y[t * ld_y + h * P + p]        scan output including D * x       [T, H*P]
//
// The chunk recurrence for one head, with a_t = exp(dt_t * A):
//   S_t = a_t * S_{t-1} + dt_t * x_t B_t^T,   y_t = S_t C_t + D * x_t
// is split into pieces that the chunked, associative-scan and recurrent paths combine:
//   ssd_chunk_state:   S_local = the chunk's final state from a zero start; decay = prod_t a_t
//   ssd_chunk_output:  y for every token, given the state entering the chunk
//                      (intra-chunk (C B^T o L) x plus the decayed C * S_in, plus D x)
//   ssd_state_pass:    S_out = decay * S_in + S_local  (the associative operator's action)
//   ssd_chunk_scan:    output, state and pass of one chunk fused, for the chunked path: y and
//                      S_out from S_in, the chunk cut into sub-chunks of kSsdSubChunk tokens
//   ssd_step:          one token: update the state in place and write y
#pragma once

#include <cstdint>

namespace mamba2::kernels {

struct SsdShape {
  int64_t heads;    // H
  int64_t headdim;  // P
  int64_t d_state;  // N
  int64_t groups;   // G, divides H
  bool d_has_hdim;  // D is [H * P] instead of [H]
};

struct SsdChunk {
  int64_t tokens;  // T >= 1
  const float* x;
  int64_t ld_x;
  const float* B;
  const float* C;
  int64_t ld_bc;
  const float* dt;  // [T, H]
  const float* A;
  const float* D;
};

// Scratch floats ssd_chunk_output / ssd_chunk_state need for one head range call.
int64_t ssd_workspace_floats(const SsdShape& shape, int64_t tokens);

// S_local[(h*P+p)*N+n] for h in [h_begin, h_end) and decay[h] = exp(sum_t dt_t[h] * A[h]).
void ssd_chunk_state(const SsdShape& shape, const SsdChunk& chunk, float* state_local, float* decay,
                     float* workspace, int64_t h_begin, int64_t h_end);

// y for the chunk given state_in (the state entering the chunk; null means zero: a sequence's first
// chunk, whose C S_in^T term is skipped).
void ssd_chunk_output(const SsdShape& shape, const SsdChunk& chunk, const float* state_in, float* y,
                      int64_t ld_y, float* workspace, int64_t h_begin, int64_t h_end);

// The sub-chunk length of ssd_chunk_scan: the intra-chunk (C B^T o L) x products grow with the
// length while the state and read-out products do not, so a chunk of 256 tokens is scanned as
// four of 64 (0.9 instead of 1.2 MFLOP per token for the 130m shape), the same recurrence up to
// float rounding. bench_ssd's BM_SsdChunkScan sweeps the length.
inline constexpr int64_t kSsdSubChunk = 64;

// Scratch floats ssd_chunk_scan needs for one head range call.
int64_t ssd_scan_workspace_floats(const SsdShape& shape, int64_t tokens);

// y for the chunk and state_out, the state after it, from state_in (null means zero, as a
// sequence's first chunk), per head in [h_begin, h_end). state_out may alias state_in.
void ssd_chunk_scan(const SsdShape& shape, const SsdChunk& chunk, const float* state_in,
                    float* state_out, float* y, int64_t ld_y, float* workspace, int64_t h_begin,
                    int64_t h_end);

// state_out = decay[h] * state_in + state_local, per head in [h_begin, h_end).
// state_out may alias state_in or state_local.
void ssd_state_pass(const SsdShape& shape, const float* decay, const float* state_in,
                    const float* state_local, float* state_out, int64_t h_begin, int64_t h_end);

// One decode step: x [H*P], B, C [G*N], dt [H] (already softplus'd), state updated in place,
// y [H*P] written (including D * x).
void ssd_step(const SsdShape& shape, const float* x, const float* B, const float* C,
              const float* dt, const float* A, const float* D, float* state, float* y,
              int64_t h_begin, int64_t h_end);

namespace ref {
// The plain recurrence over the chunk, token by token (updates state, writes y): the reference
// every other piece is checked against.
void ssd_recurrent(const SsdShape& shape, const SsdChunk& chunk, float* state, float* y,
                   int64_t ld_y);
void ssd_chunk_state(const SsdShape& shape, const SsdChunk& chunk, float* state_local, float* decay,
                     int64_t h_begin, int64_t h_end);
void ssd_chunk_output(const SsdShape& shape, const SsdChunk& chunk, const float* state_in, float* y,
                      int64_t ld_y, int64_t h_begin, int64_t h_end);
void ssd_step(const SsdShape& shape, const float* x, const float* B, const float* C,
              const float* dt, const float* A, const float* D, float* state, float* y,
              int64_t h_begin, int64_t h_end);
}  // namespace ref

}  // namespace mamba2::kernels
