// The chunked SSD of one sequence and one group of heads, forward and backward, in the scalar type
// of the caller. Within a chunk of Q tokens the scan is the masked matrix form
//   y = (C B^T o L o dt) x + exp(cum) C S_in^T + D x,   L[t, s] = exp(cum_t - cum_s), s <= t,
//   S_out = exp(cum_last) S_in + sum_s exp(cum_last - cum_s) dt_s x_s B_s^T,
// with small GEMMs; chunks pass the state [headdim, d_state] along. The forward keeps each chunk's
// entering state; the backward recomputes everything else inside a chunk (C B^T, the decays) and
// runs the chunks in reverse, passing dS back.
//
// mamba2_jax_01 computes instead the chunked SSD of mamba2-jax 0.1.x (forward only), whose two
// indexing slips make it non-causal and dependent on the chunk size (fixtures README, "The SSD of
// mamba2-jax 0.1.x"): within a chunk L[t, s] = exp(sum_{s < d <= t} cum_d) (a segment sum of the
// cumulative sums), and a chunk's contribution to the carried state weighs step j by
// exp(cum^last_j - cum_j), cum^last being the last chunk's cumulative sums (held at their last
// real value over its zero padding).
#pragma once

#include <cstdint>

namespace mamba2::training {

template <class T>
struct SsdSequence {
  int64_t tokens;  // L
  int64_t chunk;   // Q
  int64_t nheads, headdim, d_state, ngroups;
  const T* xbc;  // [L, ld_xbc]: x [nheads * headdim] | B [ngroups * d_state] | C [...]
  int64_t ld_xbc;
  const T* dt;     // [L, nheads], softplus'd
  const T* A_log;  // [nheads]
  const T* D;      // [nheads]
  bool mamba2_jax_01 = false;

  int64_t chunks() const { return (tokens + chunk - 1) / chunk; }
};

// y [L, ld_y] for the heads of `group`; states [chunks, nheads, headdim, d_state] receives the
// state entering each chunk for those heads.
template <class T>
void ssd_forward(const SsdSequence<T>& seq, int64_t group, T* y, int64_t ld_y, T* states);

// Gradients for the heads of `group` given dy [L, ld_y] and the forward's states: dxbc (same
// layout as xbc: the group's x columns, B and C), ddt [L, nheads], dA_log [nheads], dD [nheads]
// all accumulate.
template <class T>
void ssd_backward(const SsdSequence<T>& seq, int64_t group, const T* dy, int64_t ld_y,
                  const T* states, T* dxbc, T* ddt, T* dA_log, T* dD);

}  // namespace mamba2::training
