// Forward and backward of the Mamba-2 block's small per-token operations, in the scalar type of
// the caller (float to train, double for gradient checks). Backward functions add into their
// gradient outputs (`+=`), so a caller zeroes them once and may accumulate several uses.
#pragma once

#include <cstdint>

namespace mamba2::training {

template <class T>
T silu(T v);
template <class T>
T softplus(T v);  // log1p(exp(v)), = v for v > 20 (as the engine and torch)

// out[r] = x[r] / rms(x[r]) * w, rows of d; rstd[r] = 1 / sqrt(mean(x[r]^2) + eps).
template <class T>
void rmsnorm_forward(const T* x, const T* w, T* out, T* rstd, int64_t rows, int64_t d, T eps);
// dx += d out/dx . dout; dw += d out/dw . dout.
template <class T>
void rmsnorm_backward(const T* x, const T* w, const T* rstd, const T* dout, T* dx, T* dw,
                      int64_t rows, int64_t d);

// The gated grouped RMSNorm (norm_before_gate = false): out = groupRMSNorm(y * silu(z)) * w over
// groups of `group` channels. y, out: [rows, d]; z: rows with stride ld_z.
template <class T>
void gated_rmsnorm_forward(const T* y, const T* z, int64_t ld_z, const T* w, T* out, int64_t rows,
                           int64_t d, int64_t group, T eps);
// dy, dz (stride ld_z) and dw accumulate.
template <class T>
void gated_rmsnorm_backward(const T* y, const T* z, int64_t ld_z, const T* w, const T* dout, T* dy,
                            T* dz, T* dw, int64_t rows, int64_t d, int64_t group, T eps);

// One sequence of `tokens` through the causal depthwise conv + SiLU for channels [c_begin, c_end),
// from a zero state: out[t, c] = silu(bias[c] + sum_k w[c, k] in[t - taps + 1 + k, c]).
template <class T>
void conv_silu_forward(const T* in, int64_t ld_in, const T* w, const T* bias, T* out,
                       int64_t ld_out, int64_t tokens, int64_t taps, int64_t c_begin,
                       int64_t c_end);
// din (stride ld_din), dw [channels, taps] and dbias accumulate for channels [c_begin, c_end).
template <class T>
void conv_silu_backward(const T* in, int64_t ld_in, const T* w, const T* bias, const T* dout,
                        int64_t ld_dout, T* din, int64_t ld_din, T* dw, T* dbias, int64_t tokens,
                        int64_t taps, int64_t c_begin, int64_t c_end);

// dt[r, h] = clamp(softplus(raw[r * ld_raw + h] + bias[h]), lo, hi).
template <class T>
void dt_forward(const T* raw, int64_t ld_raw, const T* bias, T lo, T hi, T* dt, int64_t rows,
                int64_t heads);
// draw (stride ld_raw) and dbias accumulate; a clamped dt passes no gradient.
template <class T>
void dt_backward(const T* raw, int64_t ld_raw, const T* bias, T lo, T hi, const T* ddt, T* draw,
                 T* dbias, int64_t rows, int64_t heads);

// Softmax cross-entropy of rows of logits [rows, vocab] against targets; returns the summed loss
// and overwrites logits with d(sum loss * scale)/d logits.
template <class T>
double cross_entropy(T* logits, const int32_t* targets, int64_t rows, int64_t vocab, T scale);

}  // namespace mamba2::training
