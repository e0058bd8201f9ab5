#include "tests/runtime/engine/reference_forward.h"

#include <cmath>

namespace mamba2::testing {
namespace {

double at(const TensorView& view, int64_t index) { return view.f32()[index]; }

std::vector<double> rmsnorm(const std::vector<double>& x, const TensorView& w, int64_t offset,
                            int64_t begin, int64_t end, double eps) {
  double sum = 0;
  for (int64_t i = begin; i < end; ++i) sum += x[i] * x[i];
  const double scale = 1.0 / std::sqrt(sum / double(end - begin) + eps);
  std::vector<double> y(end - begin);
  for (int64_t i = begin; i < end; ++i) y[i - begin] = x[i] * scale * at(w, offset + i - begin);
  return y;
}

std::vector<double> matvec(const TensorView& w, const TensorView& bias,
                           const std::vector<double>& x) {
  const int64_t rows = w.shape[0], cols = w.shape[1];
  std::vector<double> y(rows, 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    double sum = bias.empty() ? 0.0 : at(bias, r);
    for (int64_t k = 0; k < cols; ++k) sum += at(w, r * cols + k) * x[k];
    y[r] = sum;
  }
  return y;
}

double silu(double v) { return v / (1.0 + std::exp(-v)); }
double softplus(double v) { return v > 20.0 ? v : std::log1p(std::exp(v)); }

}  // namespace

ReferenceForward::ReferenceForward(const ModelWeights& weights)
    : weights_(weights), c_(weights.config) {
  conv_inputs_.assign(c_.n_layer, std::vector<std::vector<double>>(
                                      c_.d_conv, std::vector<double>(c_.conv_dim, 0.0)));
  ssm_.assign(c_.n_layer, std::vector<double>(c_.nheads * c_.headdim * c_.d_state, 0.0));
}

std::vector<double> ReferenceForward::convolve(int64_t l, const std::vector<double>& v,
                                               int64_t begin) {
  const LayerWeights& w = weights_.layers[l];
  auto& window = conv_inputs_[l];  // oldest first
  window.erase(window.begin());
  window.emplace_back(v.begin() + begin, v.begin() + begin + c_.conv_dim);
  std::vector<double> out(c_.conv_dim);
  for (int64_t ch = 0; ch < c_.conv_dim; ++ch) {
    double sum = w.conv1d_bias.empty() ? 0.0 : at(w.conv1d_bias, ch);
    for (int64_t k = 0; k < c_.d_conv; ++k) sum += at(w.conv1d, ch * c_.d_conv + k) * window[k][ch];
    out[ch] = silu(sum);
  }
  return out;
}

// mamba_simple.py: x | z, conv over x, x_proj -> dt_low | B | C, the scan with A per channel
// and state entry, y * silu(z).
std::vector<double> ReferenceForward::mamba1_mixer(int64_t l, const std::vector<double>& u) {
  const LayerWeights& w = weights_.layers[l];
  const int64_t D = c_.d_inner, N = c_.d_state, R = c_.dt_rank;
  const std::vector<double> v = matvec(w.in_proj, w.in_proj_bias, u);  // x | z
  const std::vector<double> x = convolve(l, v, 0);
  std::vector<double> x_dbl = matvec(w.x_proj, TensorView{}, x);  // dt_low | B | C
  if (c_.dt_b_c_rms) {  // falcon-mamba: each part RMS-normalised, no weight
    for (auto [begin, end] : {std::pair{int64_t{0}, R}, {R, R + N}, {R + N, R + 2 * N}}) {
      double sum = 0;
      for (int64_t i = begin; i < end; ++i) sum += x_dbl[i] * x_dbl[i];
      const double scale = 1.0 / std::sqrt(sum / double(end - begin) + c_.dt_b_c_rms_eps);
      for (int64_t i = begin; i < end; ++i) x_dbl[i] *= scale;
    }
  }
  const std::vector<double> dt_low(x_dbl.begin(), x_dbl.begin() + R);
  const std::vector<double> dt_in = matvec(w.dt_proj, w.dt_bias, dt_low);
  std::vector<double> q(D);
  for (int64_t d = 0; d < D; ++d) {
    const double dt = softplus(dt_in[d]);
    double out = 0;
    for (int64_t n = 0; n < N; ++n) {
      double& s = ssm_[l][d * N + n];
      s = std::exp(dt * at(w.A, d * N + n)) * s + dt * x[d] * x_dbl[R + n];
      out += s * x_dbl[R + N + n];
    }
    q[d] = (out + at(w.D, d) * x[d]) * silu(v[D + d]);
  }
  return matvec(w.out_proj, w.out_proj_bias, q);
}

std::vector<double> ReferenceForward::mixer(int64_t l, const std::vector<double>& u) {
  if (c_.architecture == Architecture::kMamba1) return mamba1_mixer(l, u);
  const LayerWeights& w = weights_.layers[l];
  const int64_t d_mlp = c_.d_mlp, d_ssm = c_.d_ssm, H = c_.nheads, P = c_.headdim, N = c_.d_state,
                G = c_.ngroups;
  const std::vector<double> v = matvec(w.in_proj, w.in_proj_bias, u);
  // z0 | x0 | z | xBC | dt
  const int64_t z_at = 2 * d_mlp, xbc_at = z_at + d_ssm, dt_at = xbc_at + c_.conv_dim;
  const std::vector<double> xbc = convolve(l, v, xbc_at);

  std::vector<double> y(d_ssm);
  for (int64_t h = 0; h < H; ++h) {
    double dt = softplus(v[dt_at + h] + at(w.dt_bias, h));
    if (c_.has_dt_limit())
      dt = std::min<double>(std::max<double>(dt, c_.dt_min_limit), c_.dt_max_limit);
    const double A = at(w.A, h);
    const int64_t g = h / (H / G);
    for (int64_t p = 0; p < P; ++p) {
      const double x = xbc[h * P + p];
      double out = 0;
      for (int64_t n = 0; n < N; ++n) {
        double& s = ssm_[l][(h * P + p) * N + n];
        s = std::exp(dt * A) * s + dt * x * xbc[d_ssm + g * N + n];
        out += s * xbc[d_ssm + G * N + g * N + n];
      }
      const double D = c_.D_has_hdim ? at(w.D, h * P + p) : at(w.D, h);
      y[h * P + p] = out + D * x;
    }
  }

  std::vector<double> q(c_.d_inner);
  for (int64_t i = 0; i < d_mlp; ++i) q[i] = silu(v[i]) * v[d_mlp + i];
  const int64_t group = d_ssm / G;
  std::vector<double> gated(d_ssm);
  for (int64_t i = 0; i < d_ssm; ++i) {
    gated[i] = c_.norm_before_gate || !c_.rmsnorm ? y[i] : y[i] * silu(v[z_at + i]);
  }
  for (int64_t gi = 0; gi < G; ++gi) {
    std::vector<double> part(gated.begin() + gi * group, gated.begin() + (gi + 1) * group);
    if (c_.rmsnorm) {
      part = rmsnorm(gated, w.gated_norm, gi * group, gi * group, (gi + 1) * group, c_.norm_eps);
    }
    for (int64_t i = 0; i < group; ++i) {
      const int64_t ch = gi * group + i;
      double value = part[i];
      if (c_.norm_before_gate || !c_.rmsnorm) value *= silu(v[z_at + ch]);
      q[d_mlp + ch] = value;
    }
  }
  return matvec(w.out_proj, w.out_proj_bias, q);
}

std::vector<double> ReferenceForward::step(int32_t token) {
  std::vector<double> h(c_.d_model), residual(c_.d_model, 0.0);
  for (int64_t i = 0; i < c_.d_model; ++i) h[i] = at(weights_.embedding, token * c_.d_model + i);
  for (int64_t l = 0; l < c_.n_layer; ++l) {
    for (int64_t i = 0; i < c_.d_model; ++i) residual[i] += h[i];
    h = mixer(l, rmsnorm(residual, weights_.layers[l].norm, 0, 0, c_.d_model, c_.norm_eps));
  }
  for (int64_t i = 0; i < c_.d_model; ++i) residual[i] += h[i];
  const std::vector<double> normed =
      rmsnorm(residual, weights_.norm_f, 0, 0, c_.d_model, c_.norm_eps);
  return matvec(weights_.lm_head, TensorView{}, normed);
}

std::vector<double> ReferenceForward::ssm_state() const {
  std::vector<double> out;
  for (const auto& layer : ssm_) out.insert(out.end(), layer.begin(), layer.end());
  return out;
}

}  // namespace mamba2::testing
