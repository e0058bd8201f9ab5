// The sub-block fits of ggml's K-quant reference quantizers (ggml-quants.c): for one group of
// weights, the scale (and minimum) and the quants that fit it, searched exactly as ggml searches
// them (same trials, same float operations in the same order) so the bytes match llama-quantize's.
// Internal to quant/.
#pragma once

#include <cstdint>

namespace mamba2::k_quant_search {

inline constexpr int kMaxGroup = 32;  // the largest group any K-quant fits at once

// ggml's make_qx_quants(n, nmax, x, L, rmse_type = 1, qw = NULL), as Q6_K uses it: a signed scale
// with x[i] ~= scale * (L[i] - nmax), L[i] in 0..2 * nmax - 1, least-squares fitted with weights
// x[i]^2 for the rounding at -nmax / max and 18 trial scales around it; the best fit wins.
// `max` is the weight of largest magnitude. An all-zero group gives 0 and L = 0.
float symmetric_scale(const float* x, int n, int nmax, int8_t* L);

// ggml's make_q3_quants(n, nmax, x, L, do_rmse = true), as Q3_K uses it: the same model started at
// -nmax / max, then up to 5 sweeps that move single quants while the x^2-weighted fit improves.
// An all-zero group gives 0 and L = 0 (not nmax: ggml's quirk, kept).
float symmetric_scale_refined(const float* x, int n, int nmax, int8_t* L);

// The parameters of ggml's make_qkx2_quants: quants in 0..nmax, trial scales
// (nmax + rmin + rdelta * i) / (max - min) for i = 0..nstep, error measured as the weighted sum of
// |error| (use_mad) or error^2.
struct ScaleMinSearch {
  int nmax;
  float rmin;
  float rdelta;
  int nstep;
  bool use_mad;
};

// ggml's make_qkx2_quants: an offset fit x[i] ~= scale * L[i] - neg_min (neg_min >= 0, so the
// group's minimum is never above 0), L[i] in 0..nmax; each trial rounding gets a weighted least-
// squares scale and minimum, and the trial of least weighted error wins. n <= kMaxGroup.
float scale_and_min(const float* x, const float* weights, int n, const ScaleMinSearch& search,
                    uint8_t* L, float* neg_min);

}  // namespace mamba2::k_quant_search
