#include "quant/iq4.h"

#include <algorithm>
#include <cmath>

#include "quant/float16.h"
#include "quant/ggml_rounding.h"

namespace mamba2 {
namespace {

using ggml_rounding::kGroupMaxEps;
using ggml_rounding::nearest_int;
constexpr int kSub = 32;   // weights per scale (IQ4_NL's block, IQ4_XS's sub-block)
constexpr int kTries = 7;  // ggml's ntry in quantize_iq4_nl and quantize_iq4_xs
constexpr int kLevels = 16;

// ggml's best_index_int8: the index of the level nearest x, found by bisection; at the end x lies
// in [level[upper - 1], level[upper]) and the nearer one wins, compared in float as ggml compares
// (x - lower < upper - x), so values near a midpoint go the same way. A tie goes up.
int nearest_level(float x) {
  if (x <= kIq4Levels[0]) return 0;
  if (x >= kIq4Levels[kLevels - 1]) return kLevels - 1;
  int lower = 0;
  int upper = kLevels - 1;
  while (upper - lower > 1) {
    const int mid = (lower + upper) / 2;
    if (x < kIq4Levels[mid]) {
      upper = mid;
    } else {
      lower = mid;
    }
  }
  return x - kIq4Levels[upper - 1] < kIq4Levels[upper] - x ? upper - 1 : upper;
}

// Sums of one trial: the least-squares scale of x ~= d * level[l] with weights x^2 is
// sum_qx / sum_q2, and the fit removes sum_qx^2 / sum_q2 of the error.
struct Fit {
  float sum_qx = 0.0f;
  float sum_q2 = 0.0f;
};

Fit fit_at(const float* x, float inverse_scale) {
  Fit fit;
  for (int j = 0; j < kSub; ++j) {
    const float q = kIq4Levels[nearest_level(inverse_scale * x[j])];
    const float w = x[j] * x[j];
    fit.sum_qx += w * q * x[j];
    fit.sum_q2 += w * q * q;
  }
  return fit;
}

// The scale of one 32-weight sub-block (ggml's quantize_row_iq4_nl_impl without importance
// weights): the largest weight on the outermost level, then 15 trial scales that put it on a level
// up to 7 steps further in; the least-squares scale of the best trial.
float sub_block_scale(const float* x) {
  float amax = 0.0f;
  float max = 0.0f;
  for (int j = 0; j < kSub; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  if (amax < kGroupMaxEps) return 0.0f;
  Fit fit = fit_at(x, 1 / (-max / kIq4Levels[0]));
  float d = fit.sum_q2 > 0.0f ? fit.sum_qx / fit.sum_q2 : 0.0f;
  float best = d * fit.sum_qx;
  for (int itry = -kTries; itry <= kTries; ++itry) {
    fit = fit_at(x, static_cast<float>(itry + kIq4Levels[0]) / max);
    if (fit.sum_q2 > 0.0f && fit.sum_qx * fit.sum_qx > best * fit.sum_q2) {
      d = fit.sum_qx / fit.sum_q2;
      best = d * fit.sum_qx;
    }
  }
  return d;
}

// Level indices of 32 weights at `inverse_scale`, packed two per byte.
void put_levels(const float* x, float inverse_scale, uint8_t* qs) {
  for (int j = 0; j < kSub / 2; ++j) {
    const int lo = nearest_level(inverse_scale * x[j]);
    const int hi = nearest_level(inverse_scale * x[j + kSub / 2]);
    qs[j] = static_cast<uint8_t>(lo | (hi << 4));
  }
}

void get_levels(const uint8_t* qs, float scale, float* y) {
  for (int j = 0; j < kSub / 2; ++j) {
    y[j] = scale * static_cast<float>(kIq4Levels[qs[j] & 0x0F]);
    y[j + kSub / 2] = scale * static_cast<float>(kIq4Levels[qs[j] >> 4]);
  }
}

}  // namespace

int iq4_xs_scale(const uint8_t* scales_l, uint16_t scales_h, int ib) {
  return (((scales_l[ib / 2] >> 4 * (ib % 2)) & 0x0F) | (((scales_h >> 2 * ib) & 3) << 4)) - 32;
}

// Each quantizer does ggml's float operations in ggml's order, so the bytes match llama-quantize's.

BlockIQ4_NL quantize_block_iq4_nl(const float* x) {
  const float d = sub_block_scale(x);
  BlockIQ4_NL block;
  block.d = f32_to_f16(d);
  // An all-zero block gets d = 0 and every index on the level nearest 0 (8), as in ggml.
  put_levels(x, d != 0.0f ? 1 / d : 0.0f, block.qs);
  return block;
}

BlockIQ4_XS quantize_block_iq4_xs(const float* x) {
  float scales[8];
  float max_scale = 0.0f;
  float amax_scale = 0.0f;
  for (int ib = 0; ib < 8; ++ib) {
    scales[ib] = sub_block_scale(x + kSub * ib);
    if (std::fabs(scales[ib]) > amax_scale) {
      amax_scale = std::fabs(scales[ib]);
      max_scale = scales[ib];
    }
  }
  // The sub-block of largest scale gets -32 (d's sign makes it so); the rest round into -32..31.
  // The weights are requantized against the unrounded d times each rounded sub-block scale.
  const float d = -max_scale / 32;
  BlockIQ4_XS block{};
  block.d = f32_to_f16(d);
  const float id = d != 0.0f ? 1 / d : 0.0f;
  for (int ib = 0; ib < 8; ++ib) {
    const int l = std::max(-32, std::min(31, nearest_int(id * scales[ib])));
    const float dl = d * static_cast<float>(l);
    put_levels(x + kSub * ib, dl != 0.0f ? 1 / dl : 0.0f, block.qs + ib * kSub / 2);
    const int biased = l + 32;
    block.scales_l[ib / 2] =
        static_cast<uint8_t>(block.scales_l[ib / 2] | ((biased & 0x0F) << 4 * (ib % 2)));
    block.scales_h = static_cast<uint16_t>(block.scales_h | ((biased >> 4) << 2 * ib));
  }
  return block;
}

void dequantize_block_iq4_nl(const BlockIQ4_NL& block, float* y) {
  get_levels(block.qs, f16_to_f32(block.d), y);
}

void dequantize_block_iq4_xs(const BlockIQ4_XS& block, float* y) {
  const float d = f16_to_f32(block.d);
  for (int ib = 0; ib < 8; ++ib) {
    get_levels(block.qs + ib * kSub / 2,
               d * static_cast<float>(iq4_xs_scale(block.scales_l, block.scales_h, ib)),
               y + kSub * ib);
  }
}

}  // namespace mamba2
