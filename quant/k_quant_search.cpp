#include "quant/k_quant_search.h"

#include <algorithm>
#include <cmath>

#include "quant/ggml_rounding.h"

namespace mamba2::k_quant_search {
namespace {

using ggml_rounding::kGroupMaxEps;
using ggml_rounding::nearest_int;

// The weight of largest magnitude, the first of them on a tie.
float signed_absmax(const float* x, int n) {
  float amax = 0.0f;
  float max = 0.0f;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  return max;
}

// Quant l of a symmetric fit, in -nmax..nmax-1.
int symmetric_quant(float scaled, int nmax) {
  return std::max(-nmax, std::min(nmax - 1, nearest_int(scaled)));
}

// Weighted sums of one rounding of x at `iscale`: sum w*x*l and sum w*l*l, with w = x^2.
struct Sums {
  float lx = 0.0f;
  float l2 = 0.0f;
};

Sums symmetric_sums(const float* x, int n, int nmax, float iscale) {
  Sums s;
  for (int i = 0; i < n; ++i) {
    const int l = symmetric_quant(iscale * x[i], nmax);
    const float w = x[i] * x[i];
    s.lx += w * x[i] * static_cast<float>(l);
    s.l2 += w * static_cast<float>(l) * static_cast<float>(l);
  }
  return s;
}

void store_symmetric(const float* x, int n, int nmax, float iscale, int8_t* L) {
  for (int i = 0; i < n; ++i)
    L[i] = static_cast<int8_t>(nmax + symmetric_quant(iscale * x[i], nmax));
}

}  // namespace

float symmetric_scale(const float* x, int n, int nmax, int8_t* L) {
  const float max = signed_absmax(x, n);
  if (std::fabs(max) < kGroupMaxEps) {
    std::fill(L, L + n, int8_t{0});
    return 0.0f;
  }
  float iscale = static_cast<float>(-nmax) / max;
  store_symmetric(x, n, nmax, iscale, L);
  Sums s = symmetric_sums(x, n, nmax, iscale);
  float scale = s.l2 != 0.0f ? s.lx / s.l2 : 0.0f;
  // A fit's quality is sumlx^2 / suml2 (the error it removes); compared without dividing.
  float best = scale * s.lx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(is)) / max;
    s = symmetric_sums(x, n, nmax, iscale);
    if (s.l2 > 0.0f && s.lx * s.lx > best * s.l2) {
      store_symmetric(x, n, nmax, iscale, L);
      scale = s.lx / s.l2;
      best = scale * s.lx;
    }
  }
  return scale;
}

float symmetric_scale_refined(const float* x, int n, int nmax, int8_t* L) {
  const float max = signed_absmax(x, n);
  if (std::fabs(max) < kGroupMaxEps) {
    std::fill(L, L + n, int8_t{0});
    return 0.0f;
  }
  const float iscale = static_cast<float>(-nmax) / max;
  float sumlx = 0.0f;
  float suml2 = 0.0f;
  for (int i = 0; i < n; ++i) {
    const int l = symmetric_quant(iscale * x[i], nmax);
    L[i] = static_cast<int8_t>(l);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * static_cast<float>(l);
    suml2 += w * static_cast<float>(l) * static_cast<float>(l);
  }
  // Each quant in turn moves to its best value given the others' fit, if that improves the fit.
  for (int sweep = 0; sweep < 5; ++sweep) {
    int changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      const float li = static_cast<float>(L[i]);
      float slx = sumlx - w * x[i] * li;
      if (!(slx > 0.0f)) continue;  // (NaNs skip, as in ggml)
      float sl2 = suml2 - w * li * li;
      const int new_l = symmetric_quant(x[i] * sl2 / slx, nmax);
      if (new_l == L[i]) continue;
      slx += w * x[i] * static_cast<float>(new_l);
      sl2 += w * static_cast<float>(new_l) * static_cast<float>(new_l);
      if (sl2 > 0.0f && slx * slx * suml2 > sumlx * sumlx * sl2) {
        L[i] = static_cast<int8_t>(new_l);
        sumlx = slx;
        suml2 = sl2;
        ++changed;
      }
    }
    if (changed == 0) break;
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(L[i] + nmax);
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

float scale_and_min(const float* x, const float* weights, int n, const ScaleMinSearch& search,
                    uint8_t* L, float* neg_min) {
  const int nmax = search.nmax;
  float min = x[0];
  float max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    sum_w += weights[i];
    sum_x += weights[i] * x[i];
  }
  if (min > 0.0f) min = 0.0f;
  if (max == min) {
    std::fill(L, L + n, uint8_t{0});
    *neg_min = -min;
    return 0.0f;
  }
  auto quant = [&](float iscale, int i) {
    return static_cast<uint8_t>(std::max(0, std::min(nmax, nearest_int(iscale * (x[i] - min)))));
  };
  auto error = [&](float scale, float offset, const uint8_t* q) {
    float total = 0.0f;
    for (int i = 0; i < n; ++i) {
      float diff = scale * static_cast<float>(q[i]) + offset - x[i];
      diff = search.use_mad ? std::fabs(diff) : diff * diff;
      total += weights[i] * diff;
    }
    return total;
  };

  // The plain rounding between min and max is the fit to beat.
  float iscale = static_cast<float>(nmax) / (max - min);
  float scale = 1.0f / iscale;
  for (int i = 0; i < n; ++i) L[i] = quant(iscale, i);
  float best_error = error(scale, min, L);

  uint8_t trial[kMaxGroup];
  for (int is = 0; is <= search.nstep; ++is) {
    iscale = (search.rmin + search.rdelta * static_cast<float>(is) + static_cast<float>(nmax)) /
             (max - min);
    float sum_l = 0.0f, sum_l2 = 0.0f, sum_xl = 0.0f;
    for (int i = 0; i < n; ++i) {
      trial[i] = quant(iscale, i);
      const float l = static_cast<float>(trial[i]);
      const float w = weights[i];
      sum_l += w * l;
      sum_l2 += w * l * l;
      sum_xl += w * l * x[i];
    }
    // Weighted least squares for x ~= this_scale * l + this_min, the minimum capped at 0.
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (!(det > 0.0f)) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
    float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
    if (this_min > 0.0f) {
      this_min = 0.0f;
      this_scale = sum_xl / sum_l2;
    }
    const float trial_error = error(this_scale, this_min, trial);
    if (trial_error < best_error) {
      std::copy(trial, trial + n, L);
      best_error = trial_error;
      scale = this_scale;
      min = this_min;
    }
  }
  *neg_min = -min;
  return scale;
}

}  // namespace mamba2::k_quant_search
