#include "runtime/training/ops.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace mamba2::training {
namespace {

template <class T>
T sigmoid(T v) {
  return T(1) / (T(1) + std::exp(-v));
}

// d silu(v) / dv = s (1 + v (1 - s)) with s = sigmoid(v).
template <class T>
T silu_grad(T v) {
  const T s = sigmoid(v);
  return s * (T(1) + v * (T(1) - s));
}

}  // namespace

template <class T>
T silu(T v) {
  return v * sigmoid(v);
}

template <class T>
T softplus(T v) {
  return v > T(20) ? v : std::log1p(std::exp(v));
}

template <class T>
void rmsnorm_forward(const T* x, const T* w, T* out, T* rstd, int64_t rows, int64_t d, T eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * d;
    T sum = 0;
    for (int64_t i = 0; i < d; ++i) sum += xr[i] * xr[i];
    const T scale = T(1) / std::sqrt(sum / T(d) + eps);
    rstd[r] = scale;
    for (int64_t i = 0; i < d; ++i) out[r * d + i] = xr[i] * scale * w[i];
  }
}

template <class T>
void rmsnorm_backward(const T* x, const T* w, const T* rstd, const T* dout, T* dx, T* dw,
                      int64_t rows, int64_t d) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * d;
    const T* gr = dout + r * d;
    const T s = rstd[r];
    // dx = s (g w - xhat mean(g w xhat)), xhat = x s.
    T dot = 0;
    for (int64_t i = 0; i < d; ++i) dot += gr[i] * w[i] * xr[i] * s;
    dot /= T(d);
    for (int64_t i = 0; i < d; ++i) {
      const T xhat = xr[i] * s;
      dx[r * d + i] += s * (gr[i] * w[i] - xhat * dot);
      dw[i] += gr[i] * xhat;
    }
  }
}

template <class T>
void gated_rmsnorm_forward(const T* y, const T* z, int64_t ld_z, const T* w, T* out, int64_t rows,
                           int64_t d, int64_t group, T eps) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t g0 = 0; g0 < d; g0 += group) {
      T sum = 0;
      for (int64_t i = g0; i < g0 + group; ++i) {
        const T g = y[r * d + i] * silu(z[r * ld_z + i]);
        out[r * d + i] = g;
        sum += g * g;
      }
      const T s = T(1) / std::sqrt(sum / T(group) + eps);
      for (int64_t i = g0; i < g0 + group; ++i) out[r * d + i] *= s * w[i];
    }
  }
}

template <class T>
void gated_rmsnorm_backward(const T* y, const T* z, int64_t ld_z, const T* w, const T* dout, T* dy,
                            T* dz, T* dw, int64_t rows, int64_t d, int64_t group, T eps) {
  std::vector<T> sig(group), ghat(group);  // sigmoid(z), normalised y * silu(z)
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t g0 = 0; g0 < d; g0 += group) {
      const T* yr = y + r * d + g0;
      const T* zr = z + r * ld_z + g0;
      const T* gr = dout + r * d + g0;
      T sum = 0;
      for (int64_t i = 0; i < group; ++i) {
        sig[i] = sigmoid(zr[i]);
        ghat[i] = yr[i] * zr[i] * sig[i];
        sum += ghat[i] * ghat[i];
      }
      const T s = T(1) / std::sqrt(sum / T(group) + eps);
      T dot = 0;  // mean(dghat * ghat)
      for (int64_t i = 0; i < group; ++i) {
        ghat[i] *= s;
        dot += gr[i] * w[g0 + i] * ghat[i];
      }
      dot /= T(group);
      for (int64_t i = 0; i < group; ++i) {
        const T dg = s * (gr[i] * w[g0 + i] - ghat[i] * dot);
        dw[g0 + i] += gr[i] * ghat[i];
        dy[r * d + g0 + i] += dg * zr[i] * sig[i];
        dz[r * ld_z + g0 + i] += dg * yr[i] * sig[i] * (T(1) + zr[i] * (T(1) - sig[i]));
      }
    }
  }
}

template <class T>
void conv_silu_forward(const T* in, int64_t ld_in, const T* w, const T* bias, T* out,
                       int64_t ld_out, int64_t tokens, int64_t taps, int64_t c_begin,
                       int64_t c_end) {
  for (int64_t t = 0; t < tokens; ++t) {
    for (int64_t c = c_begin; c < c_end; ++c) {
      T pre = bias[c];
      for (int64_t k = std::max<int64_t>(0, taps - 1 - t); k < taps; ++k) {
        pre += w[c * taps + k] * in[(t - taps + 1 + k) * ld_in + c];
      }
      out[t * ld_out + c] = silu(pre);
    }
  }
}

template <class T>
void conv_silu_backward(const T* in, int64_t ld_in, const T* w, const T* bias, const T* dout,
                        int64_t ld_dout, T* din, int64_t ld_din, T* dw, T* dbias, int64_t tokens,
                        int64_t taps, int64_t c_begin, int64_t c_end) {
  // Channel-contiguous copies of the taps ([taps, width]) so the inner loops run over channels.
  const int64_t width = c_end - c_begin;
  std::vector<T> w_t(taps * width), dw_t(taps * width, T(0)), dpre(width);
  for (int64_t k = 0; k < taps; ++k) {
    for (int64_t c = 0; c < width; ++c) w_t[k * width + c] = w[(c_begin + c) * taps + k];
  }
  for (int64_t t = 0; t < tokens; ++t) {
    const int64_t k0 = std::max<int64_t>(0, taps - 1 - t);
    // pre is recomputed: cheaper than storing [tokens, conv_dim] per layer.
    for (int64_t c = 0; c < width; ++c) dpre[c] = bias[c_begin + c];
    for (int64_t k = k0; k < taps; ++k) {
      const T* x = in + (t - taps + 1 + k) * ld_in + c_begin;
      const T* wk = &w_t[k * width];
      for (int64_t c = 0; c < width; ++c) dpre[c] += wk[c] * x[c];
    }
    const T* g = dout + t * ld_dout + c_begin;
    for (int64_t c = 0; c < width; ++c) {
      dpre[c] = g[c] * silu_grad(dpre[c]);
      dbias[c_begin + c] += dpre[c];
    }
    for (int64_t k = k0; k < taps; ++k) {
      const int64_t src = t - taps + 1 + k;
      const T* x = in + src * ld_in + c_begin;
      T* dx = din + src * ld_din + c_begin;
      const T* wk = &w_t[k * width];
      T* dwk = &dw_t[k * width];
      for (int64_t c = 0; c < width; ++c) {
        dwk[c] += dpre[c] * x[c];
        dx[c] += dpre[c] * wk[c];
      }
    }
  }
  for (int64_t k = 0; k < taps; ++k) {
    for (int64_t c = 0; c < width; ++c) dw[(c_begin + c) * taps + k] += dw_t[k * width + c];
  }
}

template <class T>
void dt_forward(const T* raw, int64_t ld_raw, const T* bias, T lo, T hi, T* dt, int64_t rows,
                int64_t heads) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t h = 0; h < heads; ++h) {
      dt[r * heads + h] = std::min(std::max(softplus(raw[r * ld_raw + h] + bias[h]), lo), hi);
    }
  }
}

template <class T>
void dt_backward(const T* raw, int64_t ld_raw, const T* bias, T lo, T hi, const T* ddt, T* draw,
                 T* dbias, int64_t rows, int64_t heads) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t h = 0; h < heads; ++h) {
      const T v = raw[r * ld_raw + h] + bias[h];
      const T sp = softplus(v);
      if (sp < lo || sp > hi) continue;
      const T g = ddt[r * heads + h] * (v > T(20) ? T(1) : sigmoid(v));
      draw[r * ld_raw + h] += g;
      dbias[h] += g;
    }
  }
}

template <class T>
double cross_entropy(T* logits, const int32_t* targets, int64_t rows, int64_t vocab, T scale) {
  double total = 0;
  for (int64_t r = 0; r < rows; ++r) {
    T* row = logits + r * vocab;
    const T max = *std::max_element(row, row + vocab);
    T sum = 0;
    for (int64_t v = 0; v < vocab; ++v) {
      row[v] = std::exp(row[v] - max);
      sum += row[v];
    }
    const int32_t target = targets[r];
    total += std::log(double(sum)) - std::log(double(row[target]));
    const T inv = scale / sum;
    for (int64_t v = 0; v < vocab; ++v) row[v] *= inv;
    row[target] -= scale;
  }
  return total;
}

#define MAMBA2_TRAINING_OPS(T)                                                                     \
  template T silu(T);                                                                              \
  template T softplus(T);                                                                          \
  template void rmsnorm_forward(const T*, const T*, T*, T*, int64_t, int64_t, T);                  \
  template void rmsnorm_backward(const T*, const T*, const T*, const T*, T*, T*, int64_t,          \
                                 int64_t);                                                         \
  template void gated_rmsnorm_forward(const T*, const T*, int64_t, const T*, T*, int64_t, int64_t, \
                                      int64_t, T);                                                 \
  template void gated_rmsnorm_backward(const T*, const T*, int64_t, const T*, const T*, T*, T*,    \
                                       T*, int64_t, int64_t, int64_t, T);                          \
  template void conv_silu_forward(const T*, int64_t, const T*, const T*, T*, int64_t, int64_t,     \
                                  int64_t, int64_t, int64_t);                                      \
  template void conv_silu_backward(const T*, int64_t, const T*, const T*, const T*, int64_t, T*,   \
                                   int64_t, T*, T*, int64_t, int64_t, int64_t, int64_t);           \
  template void dt_forward(const T*, int64_t, const T*, T, T, T*, int64_t, int64_t);               \
  template void dt_backward(const T*, int64_t, const T*, T, T, const T*, T*, T*, int64_t,          \
                            int64_t);                                                              \
  template double cross_entropy(T*, const int32_t*, int64_t, int64_t, T);

MAMBA2_TRAINING_OPS(float)
MAMBA2_TRAINING_OPS(double)

}  // namespace mamba2::training
