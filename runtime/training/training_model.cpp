#include "runtime/training/training_model.h"

#include <cblas.h>

#include <algorithm>

#include "mamba2/error.h"
#include "runtime/io/physical_memory.h"
#include "runtime/training/gemm.h"
#include "runtime/training/ops.h"
#include "runtime/training/ssd.h"

namespace mamba2::training {
namespace {

constexpr int64_t kRowTile = 64;      // tokens per tile of row-wise work and GEMMs
constexpr int64_t kChannelTile = 64;  // output channels per tile of weight-gradient GEMMs

// Y [R, out] = X [R, in] W^T, W [out, in].
template <class T>
void linear(const ThreadingContext& threading, const T* x, const T* w, T* y, int64_t rows,
            int64_t in, int64_t out) {
  threading.for_tiles(rows, kRowTile, [&](int64_t r0, int64_t r1) {
    gemm(false, true, r1 - r0, out, in, T(1), x + r0 * in, in, w, in, T(0), y + r0 * out, out);
  });
}

// dX [R, in] (+= when accumulate) = dY [R, out] W.
template <class T>
void linear_input_grad(const ThreadingContext& threading, const T* dy, const T* w, T* dx,
                       int64_t rows, int64_t in, int64_t out, bool accumulate) {
  threading.for_tiles(rows, kRowTile, [&](int64_t r0, int64_t r1) {
    gemm(false, false, r1 - r0, in, out, T(1), dy + r0 * out, out, w, in, T(accumulate ? 1 : 0),
         dx + r0 * in, in);
  });
}

// dW [out, in] += dY^T X, tiled over output channels so no two tiles write the same row.
template <class T>
void linear_weight_grad(const ThreadingContext& threading, const T* dy, const T* x, T* dw,
                        int64_t rows, int64_t in, int64_t out) {
  threading.for_tiles(out, kChannelTile, [&](int64_t o0, int64_t o1) {
    gemm(true, false, o1 - o0, in, rows, T(1), dy + o0, out, x, in, T(1), dw + o0 * in, in);
  });
}

// Sums per-tile partials [tiles, n] into out[n] in tile order (deterministic).
template <class T>
void sum_partials(const std::vector<T>& partials, int64_t tiles, int64_t n, T* out) {
  for (int64_t t = 0; t < tiles; ++t) {
    for (int64_t i = 0; i < n; ++i) out[i] += partials[t * n + i];
  }
}

}  // namespace

template <class T>
TrainingModel<T>::TrainingModel(const ParameterLayout& layout, int64_t batch, int64_t seq_len,
                                SsdVariant ssd)
    : layout_(layout),
      c_(layout.config()),
      batch_(batch),
      seq_len_(seq_len),
      rows_(batch * seq_len),
      ssd_(ssd) {
  if (batch < 1 || seq_len < 1) throw Error("training", "batch and seq_len must be positive");
  // The widest activation is [batch * seq_len, max(d_in_proj, vocab_padded)] per layer; refuse
  // sizes whose element counts overflow instead of wrapping around.
  const int64_t widest =
      std::max({c_.d_in_proj, c_.vocab_padded, c_.conv_dim, c_.d_model, layout.head().input_dim});
  int64_t elements = 0;
  if (__builtin_mul_overflow(batch, seq_len, &elements) ||
      __builtin_mul_overflow(elements, widest, &elements) ||
      __builtin_mul_overflow(elements, c_.n_layer + 1, &elements) ||
      elements > (int64_t{1} << 40)) {
    throw Error("training", "batch * seq_len is too large for this model");
  }
  // The activations kept for the backward pass alone come to at least this much: refuse a size
  // this machine cannot hold before allocating any of it.
  const uint64_t activation_bytes = static_cast<uint64_t>(elements) * sizeof(T);
  if (activation_bytes > physical_memory_bytes()) {
    throw Error("training", "batch " + std::to_string(batch) + " x seq_len " +
                                std::to_string(seq_len) + " is too large: it needs over " +
                                std::to_string(activation_bytes >> 30) +
                                " GiB of activations, more than this machine's " +
                                std::to_string(physical_memory_bytes() >> 30) +
                                " GiB (lower --batch or --seq-len)");
  }
  // The trainer parallelises over tiles itself; OpenBLAS threads inside them would oversubscribe.
  openblas_set_num_threads(1);
  const int64_t R = rows_;
  const int64_t chunks = (seq_len + c_.chunk_size - 1) / c_.chunk_size;
  if (layout.forecaster()) {
    windows_.resize(R * layout.head().input_dim);
    forecasts_.resize(batch * layout.head().outputs());
    dforecasts_.resize(forecasts_.size());
  } else {
    inputs_.resize(R);
    targets_.resize(R);
    logits_.resize(R * c_.vocab_padded);
    dlogits_.resize(R * c_.vocab_padded);
  }
  residual_.assign(c_.n_layer + 1, std::vector<T>(R * c_.d_model));
  layers_.resize(c_.n_layer);
  for (LayerActivations& a : layers_) {
    a.rstd.resize(R);
    a.normed.resize(R * c_.d_model);
    a.zxbcdt.resize(R * c_.d_in_proj);
    a.xbc.resize(R * c_.conv_dim);
    a.dt.resize(R * c_.nheads);
    a.y.resize(R * c_.d_ssm);
    a.gated.resize(R * c_.d_inner);
    a.states.resize(batch * chunks * c_.nheads * c_.headdim * c_.d_state);
  }
  rstd_f_.resize(R);
  normed_f_.resize(R * c_.d_model);
  d_residual_.resize(R * c_.d_model);
  d_normed_.resize(R * c_.d_model);
  d_zxbcdt_.resize(R * c_.d_in_proj);
  d_xbc_.resize(R * c_.conv_dim);
  d_dt_.resize(R * c_.nheads);
  d_y_.resize(R * c_.d_ssm);
  d_gated_.resize(R * c_.d_inner);
}

template <class T>
SsdSequence<T> TrainingModel<T>::ssd_sequence(const LayerActivations& a,
                                              const LayerParams<const T>& w, int64_t b) const {
  const int64_t L = seq_len_;
  return SsdSequence<T>{L,
                        c_.chunk_size,
                        c_.nheads,
                        c_.headdim,
                        c_.d_state,
                        c_.ngroups,
                        &a.xbc[b * L * c_.conv_dim],
                        c_.conv_dim,
                        &a.dt[b * L * c_.nheads],
                        w.A_log,
                        w.D,
                        ssd_ == SsdVariant::kMamba2Jax01};
}

template <class T>
double TrainingModel<T>::forward(const T* params_base, std::span<const int32_t> tokens,
                                 const ThreadingContext& threading) {
  const int64_t L = seq_len_, R = rows_, d = c_.d_model;
  if (layout_.forecaster()) throw Error("training", "a forecaster's forward takes windows");
  if (static_cast<int64_t>(tokens.size()) != batch_ * (L + 1)) {
    throw Error("training", "expected batch * (seq_len + 1) tokens");
  }
  for (int64_t b = 0; b < batch_; ++b) {
    for (int64_t t = 0; t < L; ++t) {
      const int32_t in = tokens[b * (L + 1) + t], target = tokens[b * (L + 1) + t + 1];
      if (in < 0 || in >= c_.vocab_padded || target < 0 || target >= c_.vocab_padded) {
        throw Error("training", "token id outside the vocabulary");
      }
      inputs_[b * L + t] = in;
      targets_[b * L + t] = target;
    }
  }
  const ModelParams<const T> p = view_params(layout_, params_base);
  for (int64_t r = 0; r < R; ++r) {
    std::copy_n(p.embedding + int64_t{inputs_[r]} * d, d, &residual_[0][r * d]);
  }
  forward_backbone(p, threading);
  const int64_t V = c_.vocab_padded;
  linear(threading, normed_f_.data(), p.lm_head, logits_.data(), R, d, V);
  dlogits_ = logits_;
  const int64_t tiles = (R + kRowTile - 1) / kRowTile;
  std::vector<double> losses(tiles);
  threading.for_tiles(R, kRowTile, [&](int64_t r0, int64_t r1) {
    losses[r0 / kRowTile] =
        cross_entropy(&dlogits_[r0 * V], &targets_[r0], r1 - r0, V, T(1) / T(R));
  });
  double total = 0;
  for (double v : losses) total += v;
  return total / double(R);
}

template <class T>
double TrainingModel<T>::forward(const T* params_base, const ForecastBatch<T>& batch,
                                 const ThreadingContext& threading) {
  if (!layout_.forecaster()) throw Error("training", "a language model's forward takes tokens");
  const ForecasterShape& head = layout_.head();
  const int64_t L = seq_len_, R = rows_, d = c_.d_model, outputs = head.outputs();
  if (static_cast<int64_t>(batch.windows.size()) != R * head.input_dim ||
      (!batch.targets.empty() && static_cast<int64_t>(batch.targets.size()) != batch_ * outputs)) {
    throw Error("training",
                "expected windows [batch, seq_len, input_dim] and targets [batch, "
                "horizon, output_dim]");
  }
  std::copy(batch.windows.begin(), batch.windows.end(), windows_.begin());
  const ModelParams<const T> p = view_params(layout_, params_base);
  // residual_0 [R, d] = windows [R, input_dim] input_proj^T + bias
  linear(threading, windows_.data(), p.input_proj, residual_[0].data(), R, head.input_dim, d);
  threading.for_tiles(R, kRowTile, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      for (int64_t i = 0; i < d; ++i) residual_[0][r * d + i] += p.input_proj_bias[i];
    }
  });
  forward_backbone(p, threading);
  // forecasts [batch, outputs] = the last step's normed_f output_proj^T + bias; MSE.
  gemm(false, true, batch_, outputs, d, T(1), &normed_f_[(L - 1) * d], L * d, p.output_proj, d,
       T(0), forecasts_.data(), outputs);
  double total = 0;
  const T scale = T(2) / T(batch_ * outputs);
  for (int64_t b = 0; b < batch_; ++b) {
    for (int64_t o = 0; o < outputs; ++o) {
      T& f = forecasts_[b * outputs + o];
      f += p.output_proj_bias[o];
      const T error = batch.targets.empty() ? T(0) : f - batch.targets[b * outputs + o];
      total += double(error) * double(error);
      dforecasts_[b * outputs + o] = scale * error;
    }
  }
  return total / double(batch_ * outputs);
}

template <class T>
void TrainingModel<T>::forward_backbone(const ModelParams<const T>& p,
                                        const ThreadingContext& threading) {
  const int64_t L = seq_len_, R = rows_, d = c_.d_model;
  const T eps = T(c_.norm_eps);
  const int64_t xbc_at = c_.d_ssm, dt_at = xbc_at + c_.conv_dim;  // in zxbcdt: z | xBC | dt
  for (int64_t l = 0; l < c_.n_layer; ++l) {
    const LayerParams<const T>& w = p.layers[l];
    LayerActivations& a = layers_[l];
    const std::vector<T>& res = residual_[l];
    threading.for_tiles(R, kRowTile, [&](int64_t r0, int64_t r1) {
      rmsnorm_forward(&res[r0 * d], w.norm, &a.normed[r0 * d], &a.rstd[r0], r1 - r0, d, eps);
    });
    linear(threading, a.normed.data(), w.in_proj, a.zxbcdt.data(), R, d, c_.d_in_proj);
    threading.for_tiles(batch_, 1, [&](int64_t b, int64_t) {
      const int64_t r0 = b * L;
      conv_silu_forward(&a.zxbcdt[r0 * c_.d_in_proj + xbc_at], c_.d_in_proj, w.conv, w.conv_bias,
                        &a.xbc[r0 * c_.conv_dim], c_.conv_dim, L, c_.d_conv, int64_t{0},
                        c_.conv_dim);
      dt_forward(&a.zxbcdt[r0 * c_.d_in_proj + dt_at], c_.d_in_proj, w.dt_bias, T(c_.dt_min_limit),
                 T(c_.dt_max_limit), &a.dt[r0 * c_.nheads], L, c_.nheads);
    });
    const int64_t state_stride = static_cast<int64_t>(a.states.size()) / batch_;
    threading.for_tiles(batch_ * c_.ngroups, 1, [&](int64_t bg, int64_t) {
      const int64_t b = bg / c_.ngroups, g = bg % c_.ngroups;
      ssd_forward(ssd_sequence(a, w, b), g, &a.y[b * L * c_.d_ssm], c_.d_ssm,
                  &a.states[b * state_stride]);
    });
    threading.for_tiles(R, kRowTile, [&](int64_t r0, int64_t r1) {
      gated_rmsnorm_forward(&a.y[r0 * c_.d_ssm], &a.zxbcdt[r0 * c_.d_in_proj], c_.d_in_proj,
                            w.gated_norm, &a.gated[r0 * c_.d_inner], r1 - r0, c_.d_ssm,
                            c_.d_ssm / c_.ngroups, eps);
    });
    std::vector<T>& next = residual_[l + 1];
    linear(threading, a.gated.data(), w.out_proj, next.data(), R, c_.d_inner, d);
    threading.for_tiles(R * d, kRowTile * d, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) next[i] += res[i];
    });
  }
  const std::vector<T>& res = residual_[c_.n_layer];
  threading.for_tiles(R, kRowTile, [&](int64_t r0, int64_t r1) {
    rmsnorm_forward(&res[r0 * d], p.norm_f, &normed_f_[r0 * d], &rstd_f_[r0], r1 - r0, d, eps);
  });
}

template <class T>
void TrainingModel<T>::backward(const T* params_base, T* grads_base,
                                const ThreadingContext& threading) {
  if (ssd_ != SsdVariant::kExact) {
    throw Error("training", "mamba2-jax 0.1.x's scan has no backward (it is for forecasts only)");
  }
  const int64_t L = seq_len_, R = rows_, d = c_.d_model;
  std::fill_n(grads_base, layout_.total(), T(0));
  const ModelParams<const T> p = view_params(layout_, params_base);
  ModelParams<T> g = view_params(layout_, grads_base);
  std::fill(d_normed_.begin(), d_normed_.end(), T(0));
  if (!layout_.forecaster()) {
    // logits = normed_f lm_head^T
    const int64_t V = c_.vocab_padded;
    linear_weight_grad(threading, dlogits_.data(), normed_f_.data(), g.lm_head, R, d, V);
    linear_input_grad(threading, dlogits_.data(), p.lm_head, d_normed_.data(), R, d, V, false);
    backward_backbone(p, g, threading);
    // residual_0 = embedding rows (scattered in row order: deterministic).
    for (int64_t r = 0; r < R; ++r) {
      T* row = g.embedding + int64_t{inputs_[r]} * d;
      for (int64_t i = 0; i < d; ++i) row[i] += d_residual_[r * d + i];
    }
    return;
  }
  // forecasts = normed_f[last step] output_proj^T + bias: only each sequence's last row has a
  // gradient. d_normed [batch rows, d] = dforecasts output_proj; doutput_proj = dforecasts^T
  // normed.
  const int64_t in = layout_.head().input_dim, outputs = layout_.head().outputs();
  gemm(false, false, batch_, d, outputs, T(1), dforecasts_.data(), outputs, p.output_proj, d, T(0),
       &d_normed_[(L - 1) * d], L * d);
  gemm(true, false, outputs, d, batch_, T(1), dforecasts_.data(), outputs, &normed_f_[(L - 1) * d],
       L * d, T(0), g.output_proj, d);
  for (int64_t b = 0; b < batch_; ++b) {
    for (int64_t o = 0; o < outputs; ++o) g.output_proj_bias[o] += dforecasts_[b * outputs + o];
  }
  backward_backbone(p, g, threading);
  // residual_0 = windows input_proj^T + bias
  linear_weight_grad(threading, d_residual_.data(), windows_.data(), g.input_proj, R, in, d);
  for (int64_t r = 0; r < R; ++r) {
    for (int64_t i = 0; i < d; ++i) g.input_proj_bias[i] += d_residual_[r * d + i];
  }
}

template <class T>
void TrainingModel<T>::backward_backbone(const ModelParams<const T>& p, ModelParams<T>& g,
                                         const ThreadingContext& threading) {
  const int64_t L = seq_len_, R = rows_, d = c_.d_model;
  const int64_t H = c_.nheads, tiles = (R + kRowTile - 1) / kRowTile;
  const T eps = T(c_.norm_eps);
  // Row-wise work whose small weight gradient [n] is summed over rows: per-tile partials.
  auto row_tiles_with_partial = [&](int64_t n, T* out, const auto& fn) {
    partials_.assign(tiles * n, T(0));
    threading.for_tiles(
        R, kRowTile, [&](int64_t r0, int64_t r1) { fn(r0, r1, &partials_[(r0 / kRowTile) * n]); });
    sum_partials(partials_, tiles, n, out);
  };

  // normed_f = RMSNorm(residual_n)
  std::fill(d_residual_.begin(), d_residual_.end(), T(0));
  row_tiles_with_partial(d, g.norm_f, [&](int64_t r0, int64_t r1, T* dw) {
    rmsnorm_backward(&residual_[c_.n_layer][r0 * d], p.norm_f, &rstd_f_[r0], &d_normed_[r0 * d],
                     &d_residual_[r0 * d], dw, r1 - r0, d);
  });

  const int64_t xbc_at = c_.d_ssm, dt_at = xbc_at + c_.conv_dim;
  for (int64_t l = c_.n_layer - 1; l >= 0; --l) {
    const LayerParams<const T>& w = p.layers[l];
    const LayerParams<T>& gw = g.layers[l];
    const LayerActivations& a = layers_[l];
    // residual_{l+1} = residual_l + out_proj(gated): d_residual is the mixer output's gradient.
    linear_weight_grad(threading, d_residual_.data(), a.gated.data(), gw.out_proj, R, c_.d_inner,
                       d);
    linear_input_grad(threading, d_residual_.data(), w.out_proj, d_gated_.data(), R, c_.d_inner, d,
                      false);
    std::fill(d_zxbcdt_.begin(), d_zxbcdt_.end(), T(0));
    std::fill(d_y_.begin(), d_y_.end(), T(0));
    row_tiles_with_partial(c_.d_ssm, gw.gated_norm, [&](int64_t r0, int64_t r1, T* dw) {
      gated_rmsnorm_backward(&a.y[r0 * c_.d_ssm], &a.zxbcdt[r0 * c_.d_in_proj], c_.d_in_proj,
                             w.gated_norm, &d_gated_[r0 * c_.d_inner], &d_y_[r0 * c_.d_ssm],
                             &d_zxbcdt_[r0 * c_.d_in_proj], dw, r1 - r0, c_.d_ssm,
                             c_.d_ssm / c_.ngroups, eps);
    });

    // SSD over (sequence, group); dA_log and dD per sequence, summed in order.
    std::fill(d_xbc_.begin(), d_xbc_.end(), T(0));
    std::fill(d_dt_.begin(), d_dt_.end(), T(0));
    std::vector<T> dA_log(batch_ * H, T(0)), dD(batch_ * H, T(0)), ddt_bias(batch_ * H, T(0));
    const int64_t state_stride = static_cast<int64_t>(a.states.size()) / batch_;
    threading.for_tiles(batch_ * c_.ngroups, 1, [&](int64_t bg, int64_t) {
      const int64_t b = bg / c_.ngroups, grp = bg % c_.ngroups;
      ssd_backward(ssd_sequence(a, w, b), grp, &d_y_[b * L * c_.d_ssm], c_.d_ssm,
                   &a.states[b * state_stride], &d_xbc_[b * L * c_.conv_dim], &d_dt_[b * L * H],
                   &dA_log[b * H], &dD[b * H]);
    });
    threading.for_tiles(batch_, 1, [&](int64_t b, int64_t) {
      const int64_t r0 = b * L;
      dt_backward(&a.zxbcdt[r0 * c_.d_in_proj + dt_at], c_.d_in_proj, w.dt_bias, T(c_.dt_min_limit),
                  T(c_.dt_max_limit), &d_dt_[r0 * H], &d_zxbcdt_[r0 * c_.d_in_proj + dt_at],
                  &ddt_bias[b * H], L, H);
    });
    for (int64_t b = 0; b < batch_; ++b) {
      for (int64_t h = 0; h < H; ++h) {
        gw.A_log[h] += dA_log[b * H + h];
        gw.D[h] += dD[b * H + h];
        gw.dt_bias[h] += ddt_bias[b * H + h];
      }
    }
    // Conv over channel tiles, every sequence inside: each tile owns its weight rows.
    threading.for_tiles(c_.conv_dim, kChannelTile, [&](int64_t c0, int64_t c1) {
      for (int64_t b = 0; b < batch_; ++b) {
        const int64_t r0 = b * L;
        conv_silu_backward(&a.zxbcdt[r0 * c_.d_in_proj + xbc_at], c_.d_in_proj, w.conv, w.conv_bias,
                           &d_xbc_[r0 * c_.conv_dim], c_.conv_dim,
                           &d_zxbcdt_[r0 * c_.d_in_proj + xbc_at], c_.d_in_proj, gw.conv,
                           gw.conv_bias, L, c_.d_conv, c0, c1);
      }
    });
    // zxbcdt = normed in_proj^T; normed = RMSNorm(residual_l)
    linear_weight_grad(threading, d_zxbcdt_.data(), a.normed.data(), gw.in_proj, R, d,
                       c_.d_in_proj);
    linear_input_grad(threading, d_zxbcdt_.data(), w.in_proj, d_normed_.data(), R, d, c_.d_in_proj,
                      false);
    row_tiles_with_partial(d, gw.norm, [&](int64_t r0, int64_t r1, T* dw) {
      rmsnorm_backward(&residual_[l][r0 * d], w.norm, &a.rstd[r0], &d_normed_[r0 * d],
                       &d_residual_[r0 * d], dw, r1 - r0, d);
    });
  }
}

template class TrainingModel<float>;
template class TrainingModel<double>;

}  // namespace mamba2::training
