#include "runtime/training/ssd.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "runtime/training/gemm.h"

namespace mamba2::training {
namespace {

// Where one chunk's operands live.
template <class T>
struct ChunkView {
  int64_t t0, q;  // first token, tokens in the chunk
  const T* x;     // [q, ld] this group's first head
  const T* B;     // [q, ld]
  const T* C;     // [q, ld]
  int64_t ld;
};

template <class T>
ChunkView<T> chunk_view(const SsdSequence<T>& s, int64_t group, int64_t c) {
  const int64_t t0 = c * s.chunk;
  const int64_t heads_per_group = s.nheads / s.ngroups;
  const T* row = s.xbc + t0 * s.ld_xbc;
  const T* B = row + s.nheads * s.headdim + group * s.d_state;
  return {t0, std::min(s.chunk, s.tokens - t0), row + group * heads_per_group * s.headdim,
          B,  B + s.ngroups * s.d_state,        s.ld_xbc};
}

// cum[i] = A * sum_{j <= i} dt[t0 + j, h].
template <class T>
void cumulative_decay(const SsdSequence<T>& s, const ChunkView<T>& v, int64_t h, T A, T* cum) {
  T sum = 0;
  for (int64_t i = 0; i < v.q; ++i) {
    sum += A * s.dt[(v.t0 + i) * s.nheads + h];
    cum[i] = sum;
  }
}

// M[i, j] = G[i, j] E[i, j] dt_j with E[i, j] = exp(seg[i] - seg[j]) for j <= i, else 0, where
// seg is cum (the exact scan) or its running sum (mamba2-jax 0.1.x). [q, Q]
// E is kept when asked for: the backward needs it again.
template <class T>
void masked_scores(const SsdSequence<T>& s, const ChunkView<T>& v, int64_t h, const T* G,
                   const T* cum, T* M, T* E = nullptr) {
  const int64_t Q = s.chunk;
  std::vector<T> running;
  const T* seg = cum;
  if (s.mamba2_jax_01) {
    running.resize(v.q);
    T sum = 0;
    for (int64_t i = 0; i < v.q; ++i) running[i] = sum += cum[i];
    seg = running.data();
  }
  for (int64_t i = 0; i < v.q; ++i) {
    for (int64_t j = 0; j <= i; ++j) {
      const T e = std::exp(seg[i] - seg[j]);
      if (E) E[i * Q + j] = e;
      M[i * Q + j] = G[i * Q + j] * e * s.dt[(v.t0 + j) * s.nheads + h];
    }
    for (int64_t j = i + 1; j < v.q; ++j) M[i * Q + j] = 0;
  }
}

}  // namespace

template <class T>
void ssd_forward(const SsdSequence<T>& s, int64_t group, T* y, int64_t ld_y, T* states) {
  const int64_t Q = s.chunk, P = s.headdim, N = s.d_state, H = s.nheads;
  const int64_t heads_per_group = H / s.ngroups;
  std::vector<T> G(Q * Q), M(Q * Q), cum(Q), out(Q * P), CS(Q * P), wx(Q * P);
  std::vector<T> state(heads_per_group * P * N, T(0));  // [heads of the group, P, N]
  std::vector<T> last_cum(Q);  // mamba2-jax 0.1.x: the last chunk's cum, padded with its last
  for (int64_t c = 0; c < s.chunks(); ++c) {
    const ChunkView<T> v = chunk_view(s, group, c);
    gemm(false, true, v.q, v.q, N, T(1), v.C, v.ld, v.B, v.ld, T(0), G.data(), Q);  // C B^T
    for (int64_t hg = 0; hg < heads_per_group; ++hg) {
      const int64_t h = group * heads_per_group + hg;
      const T A = -std::exp(s.A_log[h]);
      const T* x = v.x + hg * P;
      T* S = &state[hg * P * N];
      std::copy(S, S + P * N, states + (c * H + h) * P * N);
      cumulative_decay(s, v, h, A, cum.data());
      if (s.mamba2_jax_01) {
        const ChunkView<T> last = chunk_view(s, group, s.chunks() - 1);
        cumulative_decay(s, last, h, A, last_cum.data());
        std::fill(last_cum.begin() + last.q, last_cum.end(), last_cum[last.q - 1]);
      }
      masked_scores(s, v, h, G.data(), cum.data(), M.data());
      gemm(false, false, v.q, P, v.q, T(1), M.data(), Q, x, v.ld, T(0), out.data(), P);
      gemm(false, true, v.q, P, N, T(1), v.C, v.ld, S, N, T(0), CS.data(), P);  // C S^T
      const T cum_last = cum[v.q - 1];
      for (int64_t i = 0; i < v.q; ++i) {
        const T decay_in = std::exp(cum[i]);
        const T to_end = s.mamba2_jax_01 ? last_cum[i] : cum_last;
        const T w = std::exp(to_end - cum[i]) * s.dt[(v.t0 + i) * H + h];
        for (int64_t p = 0; p < P; ++p) {
          const T xi = x[i * v.ld + p];
          y[(v.t0 + i) * ld_y + h * P + p] =
              out[i * P + p] + decay_in * CS[i * P + p] + s.D[h] * xi;
          wx[i * P + p] = w * xi;
        }
      }
      // S = exp(cum_last) S + (w x)^T B
      gemm(true, false, P, N, v.q, T(1), wx.data(), P, v.B, v.ld, std::exp(cum_last), S, N);
    }
  }
}

template <class T>
void ssd_backward(const SsdSequence<T>& s, int64_t group, const T* dy, int64_t ld_y,
                  const T* states, T* dxbc, T* ddt, T* dA_log, T* dD) {
  const int64_t Q = s.chunk, P = s.headdim, N = s.d_state, H = s.nheads;
  const int64_t heads_per_group = H / s.ngroups;
  std::vector<T> G(Q * Q), M(Q * Q), E(Q * Q), dM(Q * Q), dG(Q * Q), cum(Q), dcum(Q), ddt_local(Q);
  std::vector<T> dx(Q * P), BdS(Q * P), CS(Q * P), edy(Q * P), wx(Q * P), dB(Q * N), dC(Q * N);
  std::vector<T> dstate(heads_per_group * P * N, T(0));  // dL/dS leaving the current chunk
  for (int64_t c = s.chunks() - 1; c >= 0; --c) {
    const ChunkView<T> v = chunk_view(s, group, c);
    gemm(false, true, v.q, v.q, N, T(1), v.C, v.ld, v.B, v.ld, T(0), G.data(), Q);
    std::fill(dG.begin(), dG.end(), T(0));
    std::fill(dB.begin(), dB.end(), T(0));
    std::fill(dC.begin(), dC.end(), T(0));
    for (int64_t hg = 0; hg < heads_per_group; ++hg) {
      const int64_t h = group * heads_per_group + hg;
      const T A = -std::exp(s.A_log[h]);
      const T* x = v.x + hg * P;
      const T* dyh = dy + v.t0 * ld_y + h * P;
      const T* S_in = states + (c * H + h) * P * N;
      T* dS = &dstate[hg * P * N];
      cumulative_decay(s, v, h, A, cum.data());
      masked_scores(s, v, h, G.data(), cum.data(), M.data(), E.data());
      const T cum_last = cum[v.q - 1];
      std::fill(dcum.begin(), dcum.end(), T(0));
      std::fill(ddt_local.begin(), ddt_local.end(), T(0));

      // y = M x + exp(cum) C S_in^T + D x
      T dD_sum = 0;
      for (int64_t i = 0; i < v.q; ++i) {
        for (int64_t p = 0; p < P; ++p) {
          dD_sum += dyh[i * ld_y + p] * x[i * v.ld + p];
          dx[i * P + p] = s.D[h] * dyh[i * ld_y + p];
        }
      }
      dD[h] += dD_sum;
      gemm(true, false, v.q, P, v.q, T(1), M.data(), Q, dyh, ld_y, T(1), dx.data(), P);
      gemm(false, true, v.q, v.q, P, T(1), dyh, ld_y, x, v.ld, T(0), dM.data(), Q);  // dy x^T
      for (int64_t i = 0; i < v.q; ++i) {
        for (int64_t j = 0; j <= i; ++j) {
          const T e = E[i * Q + j];
          const T dt_j = s.dt[(v.t0 + j) * H + h];
          const T g = dM[i * Q + j];
          dG[i * Q + j] += g * e * dt_j;
          ddt_local[j] += g * G[i * Q + j] * e;
          const T through_decay = g * M[i * Q + j];
          dcum[i] += through_decay;
          dcum[j] -= through_decay;
        }
      }
      gemm(false, true, v.q, P, N, T(1), v.C, v.ld, S_in, N, T(0), CS.data(), P);
      for (int64_t i = 0; i < v.q; ++i) {
        const T decay_in = std::exp(cum[i]);
        T dot = 0;
        for (int64_t p = 0; p < P; ++p) {
          dot += dyh[i * ld_y + p] * CS[i * P + p];
          edy[i * P + p] = decay_in * dyh[i * ld_y + p];
        }
        dcum[i] += decay_in * dot;
      }
      gemm(false, false, v.q, N, P, T(1), edy.data(), P, S_in, N, T(1), dC.data(), N);

      // S_out = exp(cum_last) S_in + sum_j w_j x_j B_j^T, w_j = exp(cum_last - cum_j) dt_j
      gemm(false, true, v.q, P, N, T(1), v.B, v.ld, dS, N, T(0), BdS.data(), P);  // B dS^T
      for (int64_t j = 0; j < v.q; ++j) {
        const T dt_j = s.dt[(v.t0 + j) * H + h];
        const T decay_out = std::exp(cum_last - cum[j]);
        const T w = decay_out * dt_j;
        T dw = 0;
        for (int64_t p = 0; p < P; ++p) {
          dw += x[j * v.ld + p] * BdS[j * P + p];
          dx[j * P + p] += w * BdS[j * P + p];
          wx[j * P + p] = w * x[j * v.ld + p];
        }
        ddt_local[j] += dw * decay_out;
        dcum[v.q - 1] += dw * w;
        dcum[j] -= dw * w;
      }
      gemm(false, false, v.q, N, P, T(1), wx.data(), P, dS, N, T(1), dB.data(), N);
      T carried = 0;
      for (int64_t k = 0; k < P * N; ++k) carried += dS[k] * S_in[k];
      dcum[v.q - 1] += std::exp(cum_last) * carried;
      // dS_in = exp(cum_last) dS + (exp(cum) dy)^T C
      gemm(true, false, P, N, v.q, T(1), edy.data(), P, v.C, v.ld, std::exp(cum_last), dS, N);

      // cum_i = A sum_{j <= i} dt_j
      T da = 0, dA = 0;
      for (int64_t i = v.q - 1; i >= 0; --i) {
        da += dcum[i];
        const T dt_i = s.dt[(v.t0 + i) * H + h];
        ddt[(v.t0 + i) * H + h] += ddt_local[i] + da * A;
        dA += da * dt_i;
      }
      dA_log[h] += dA * A;  // A = -exp(A_log)
      T* dx_out = dxbc + (v.x - s.xbc) + hg * P;
      for (int64_t i = 0; i < v.q; ++i) {
        for (int64_t p = 0; p < P; ++p) dx_out[i * s.ld_xbc + p] += dx[i * P + p];
      }
    }
    // G = C B^T
    gemm(false, false, v.q, N, v.q, T(1), dG.data(), Q, v.B, v.ld, T(1), dC.data(), N);
    gemm(true, false, v.q, N, v.q, T(1), dG.data(), Q, v.C, v.ld, T(1), dB.data(), N);
    T* dB_out = dxbc + (v.B - s.xbc);
    T* dC_out = dxbc + (v.C - s.xbc);
    for (int64_t i = 0; i < v.q; ++i) {
      for (int64_t n = 0; n < N; ++n) {
        dB_out[i * s.ld_xbc + n] += dB[i * N + n];
        dC_out[i * s.ld_xbc + n] += dC[i * N + n];
      }
    }
  }
}

template void ssd_forward(const SsdSequence<float>&, int64_t, float*, int64_t, float*);
template void ssd_forward(const SsdSequence<double>&, int64_t, double*, int64_t, double*);
template void ssd_backward(const SsdSequence<float>&, int64_t, const float*, int64_t, const float*,
                           float*, float*, float*, float*);
template void ssd_backward(const SsdSequence<double>&, int64_t, const double*, int64_t,
                           const double*, double*, double*, double*, double*);

}  // namespace mamba2::training
