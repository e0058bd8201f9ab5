#include "quant/k_quants.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/float16.h"
#include "quant/ggml_rounding.h"
#include "quant/k_quant_search.h"

namespace mamba2 {
namespace {

using ggml_rounding::kGroupMaxEps;
using ggml_rounding::nearest_int;
constexpr int kN = static_cast<int>(kKBlockElems);

// Where weight w's bits sit in a block's quant bytes (the layouts of k_quants.h).
struct BitField {
  int byte;
  int shift;
};
// 2-bit fields in 128-weight chunks: Q2_K and Q3_K quants, Q6_K high bits.
constexpr BitField crumb(int w) { return {32 * (w / 128) + w % 32, 2 * ((w % 128) / 32)}; }
// 4-bit fields in 64-weight chunks: Q4_K and Q5_K quants.
constexpr BitField nibble(int w) { return {32 * (w / 64) + w % 32, 4 * ((w % 64) / 32)}; }
// One bit per weight: Q3_K's hmask, Q5_K's qh.
constexpr BitField high_bit(int w) { return {w % 32, w / 32}; }
// Q6_K's low nibbles: 128-weight chunks of 64 bytes, weights l and l + 64 in byte l.
constexpr BitField q6_nibble(int w) { return {64 * (w / 128) + w % 64, 4 * ((w % 128) / 64)}; }

int get(const uint8_t* bytes, BitField field, int mask) {
  return (bytes[field.byte] >> field.shift) & mask;
}
void put(uint8_t* bytes, BitField field, int value) {
  bytes[field.byte] = static_cast<uint8_t>(bytes[field.byte] | (value << field.shift));
}

// Q4_K and Q5_K's 6-bit scale and minimum of sub-block j (ggml's get_scale_min_k4) ...
void get_scale_min(const uint8_t* packed, int j, int* scale, int* min) {
  if (j < 4) {
    *scale = packed[j] & 63;
    *min = packed[j + 4] & 63;
  } else {
    *scale = (packed[j + 4] & 0x0F) | ((packed[j - 4] >> 6) << 4);
    *min = (packed[j + 4] >> 4) | ((packed[j] >> 6) << 4);
  }
}
// ... and their packing, into bytes that start zeroed.
void put_scale_min(uint8_t* packed, int j, int scale, int min) {
  if (j < 4) {
    packed[j] = static_cast<uint8_t>(scale);
    packed[j + 4] = static_cast<uint8_t>(min);
  } else {
    packed[j + 4] = static_cast<uint8_t>((scale & 0x0F) | ((min & 0x0F) << 4));
    packed[j - 4] = static_cast<uint8_t>(packed[j - 4] | ((scale >> 4) << 6));
    packed[j] = static_cast<uint8_t>(packed[j] | ((min >> 4) << 6));
  }
}

void put_q3_scale(uint8_t* packed, int j, int biased) {
  if (j < 8) {
    packed[j] = static_cast<uint8_t>(biased & 0x0F);
  } else {
    packed[j - 8] = static_cast<uint8_t>(packed[j - 8] | ((biased & 0x0F) << 4));
  }
  packed[8 + j % 4] = static_cast<uint8_t>(packed[8 + j % 4] | ((biased >> 4) << (2 * (j / 4))));
}

// Q4_K and Q5_K: each 32-weight sub-block gets an offset fit weighted by (rms + |x|), then the
// sub-block scales and minimums are quantized to 6 bits against their largest.
struct ScaleMinFit {
  float scales[8];
  float mins[8];  // subtracted: w ~= scale * q - min
  uint8_t L[kN];
};

ScaleMinFit fit_sub_blocks_of_32(const float* x, const k_quant_search::ScaleMinSearch& search) {
  ScaleMinFit fit;
  float weights[32];
  for (int j = 0; j < 8; ++j) {
    const float* xs = x + 32 * j;
    float sum_x2 = 0.0f;
    for (int l = 0; l < 32; ++l) sum_x2 += xs[l] * xs[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(xs[l]);
    fit.scales[j] =
        k_quant_search::scale_and_min(xs, weights, 32, search, fit.L + 32 * j, &fit.mins[j]);
  }
  return fit;
}

// Fills d, dmin and scales of a Q4_K or Q5_K block from `fit`, and requantizes `fit.L` (in
// 0..nmax) against the rounded scales.
template <class Block>
void quantize_scales_and_requantize(const float* x, int nmax, ScaleMinFit& fit, Block& block) {
  float max_scale = 0.0f;
  float max_min = 0.0f;
  for (int j = 0; j < 8; ++j) {
    if (fit.scales[j] > max_scale) max_scale = fit.scales[j];
    if (fit.mins[j] > max_min) max_min = fit.mins[j];
  }
  const float inv_scale = max_scale > 0.0f ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0.0f ? 63.0f / max_min : 0.0f;
  std::memset(block.scales, 0, sizeof block.scales);
  for (int j = 0; j < 8; ++j) {
    // ggml stores the rounding in a uint8_t before capping it.
    const auto ls = static_cast<uint8_t>(nearest_int(inv_scale * fit.scales[j]));
    const auto lm = static_cast<uint8_t>(nearest_int(inv_min * fit.mins[j]));
    put_scale_min(block.scales, j, std::min<int>(63, ls), std::min<int>(63, lm));
  }
  block.d = f32_to_f16(max_scale / 63.0f);
  block.dmin = f32_to_f16(max_min / 63.0f);

  for (int j = 0; j < 8; ++j) {
    int sc, m;
    get_scale_min(block.scales, j, &sc, &m);
    const float d = f16_to_f32(block.d) * static_cast<float>(sc);
    if (d == 0.0f) continue;
    const float dm = f16_to_f32(block.dmin) * static_cast<float>(m);
    for (int i = 32 * j; i < 32 * (j + 1); ++i) {
      fit.L[i] = static_cast<uint8_t>(std::max(0, std::min(nmax, nearest_int((x[i] + dm) / d))));
    }
  }
}

// Q3_K and Q6_K: 16 sub-blocks of 16, each fitted symmetrically by `fit` with quants in
// -nmax..nmax-1 (L, biased by nmax), and the sub-block scale of largest magnitude, signed.
struct SymmetricFit {
  int8_t L[kN];
  float scales[16];
  float max_scale = 0.0f;      // the scale of largest magnitude
  float max_abs_scale = 0.0f;  // its magnitude
};

SymmetricFit fit_sub_blocks_of_16(const float* x, int nmax,
                                  float (*fit)(const float*, int, int, int8_t*)) {
  SymmetricFit result;
  for (int j = 0; j < 16; ++j) {
    result.scales[j] = fit(x + 16 * j, 16, nmax, result.L + 16 * j);
    if (std::fabs(result.scales[j]) > result.max_abs_scale) {
      result.max_abs_scale = std::fabs(result.scales[j]);
      result.max_scale = result.scales[j];
    }
  }
  return result;
}

// Requantizes the 16 weights of a sub-block against its rounded scale `d` into -nmax..nmax-1,
// biased by nmax; a sub-block whose scale rounded to 0 keeps its fitted quants.
void requantize_symmetric(const float* x, float d, int nmax, int8_t* L) {
  if (d == 0.0f) return;
  for (int i = 0; i < 16; ++i) {
    L[i] = static_cast<int8_t>(std::max(-nmax, std::min(nmax - 1, nearest_int(x[i] / d))) + nmax);
  }
}

}  // namespace

void k_scale_min(const uint8_t* packed, int j, int* scale, int* min) {
  get_scale_min(packed, j, scale, min);
}

int q3_scale(const uint8_t* packed, int j) {
  const int low = j < 8 ? packed[j] & 0x0F : packed[j - 8] >> 4;
  const int high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
  return (low | (high << 4)) - 32;
}

// Each quantizer does ggml's float operations in ggml's order, so the bytes match llama-quantize's.

BlockQ2_K quantize_block_q2_K(const float* x) {
  // 16 sub-blocks of 16, each an offset fit weighted by |x| minimizing the absolute error.
  constexpr k_quant_search::ScaleMinSearch kSearch{3, -0.5f, 0.1f, 15, true};
  constexpr float kQ4Scale = 15.0f;  // the sub-block scales and minimums are 4-bit
  uint8_t L[kN];
  float scales[16], mins[16], weights[16];
  float max_scale = 0.0f;
  float max_min = 0.0f;
  for (int j = 0; j < 16; ++j) {
    for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
    scales[j] =
        k_quant_search::scale_and_min(x + 16 * j, weights, 16, kSearch, L + 16 * j, &mins[j]);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }

  BlockQ2_K block{};
  if (max_scale > 0.0f) {
    const float iscale = kQ4Scale / max_scale;
    for (int j = 0; j < 16; ++j)
      block.scales[j] = static_cast<uint8_t>(nearest_int(iscale * scales[j]));
    block.d = f32_to_f16(max_scale / kQ4Scale);
  }
  if (max_min > 0.0f) {
    const float iscale = kQ4Scale / max_min;
    for (int j = 0; j < 16; ++j) {
      // ggml's (l << 4) truncated to a byte, without shifting a negative l (any input is safe).
      const int l = nearest_int(iscale * mins[j]);
      block.scales[j] = static_cast<uint8_t>(block.scales[j] | ((l & 0x0F) << 4));
    }
    block.dmin = f32_to_f16(max_min / kQ4Scale);
  }

  for (int j = 0; j < 16; ++j) {
    const float d = f16_to_f32(block.d) * static_cast<float>(block.scales[j] & 0x0F);
    if (d == 0.0f) continue;
    const float dm = f16_to_f32(block.dmin) * static_cast<float>(block.scales[j] >> 4);
    for (int i = 16 * j; i < 16 * (j + 1); ++i) {
      L[i] = static_cast<uint8_t>(std::max(0, std::min(3, nearest_int((x[i] + dm) / d))));
    }
  }
  for (int w = 0; w < kN; ++w) put(block.qs, crumb(w), L[w]);
  return block;
}

BlockQ3_K quantize_block_q3_K(const float* x) {
  // 16 sub-blocks of 16, each a symmetric fit in -4..3 refined quant by quant; the scales are
  // 6-bit, signed, against the one of largest magnitude.
  SymmetricFit fit = fit_sub_blocks_of_16(x, 4, k_quant_search::symmetric_scale_refined);
  BlockQ3_K block{};
  if (fit.max_scale != 0.0f) {
    const float iscale = -32.0f / fit.max_scale;
    for (int j = 0; j < 16; ++j) {
      // ggml rounds into an int8_t, then clamps: -32..31, stored with a bias of 32.
      const auto l = static_cast<int8_t>(nearest_int(iscale * fit.scales[j]));
      put_q3_scale(block.scales, j, std::max<int>(-32, std::min<int>(31, l)) + 32);
    }
    block.d = f32_to_f16(1 / iscale);
  }

  for (int j = 0; j < 16; ++j) {
    const float d = f16_to_f32(block.d) * static_cast<float>(q3_scale(block.scales, j));
    requantize_symmetric(x + 16 * j, d, 4, fit.L + 16 * j);
  }
  for (int w = 0; w < kN; ++w) {
    const int l = fit.L[w];
    put(block.hmask, high_bit(w), l > 3 ? 1 : 0);
    put(block.qs, crumb(w), l > 3 ? l - 4 : l);
  }
  return block;
}

BlockQ4_K quantize_block_q4_K(const float* x) {
  ScaleMinFit fit = fit_sub_blocks_of_32(x, {15, -1.0f, 0.1f, 20, false});
  BlockQ4_K block{};
  quantize_scales_and_requantize(x, 15, fit, block);
  for (int w = 0; w < kN; ++w) put(block.qs, nibble(w), fit.L[w]);
  return block;
}

BlockQ5_K quantize_block_q5_K(const float* x) {
  ScaleMinFit fit = fit_sub_blocks_of_32(x, {31, -0.5f, 0.1f, 15, false});
  BlockQ5_K block{};
  quantize_scales_and_requantize(x, 31, fit, block);
  for (int w = 0; w < kN; ++w) {
    put(block.qs, nibble(w), fit.L[w] & 0x0F);
    put(block.qh, high_bit(w), fit.L[w] >> 4);
  }
  return block;
}

BlockQ6_K quantize_block_q6_K(const float* x) {
  // 16 sub-blocks of 16, each a symmetric fit in -32..31; the scales are signed bytes against the
  // one of largest magnitude (which gets -128, capped to 127 for the opposite sign).
  SymmetricFit fit = fit_sub_blocks_of_16(x, 32, k_quant_search::symmetric_scale);
  BlockQ6_K block{};
  if (fit.max_abs_scale < kGroupMaxEps) return block;  // all zeros, d = 0

  const float iscale = -128.0f / fit.max_scale;
  block.d = f32_to_f16(1 / iscale);
  for (int j = 0; j < 16; ++j) {
    block.scales[j] = static_cast<int8_t>(std::min(127, nearest_int(iscale * fit.scales[j])));
  }
  for (int j = 0; j < 16; ++j) {
    const float d = f16_to_f32(block.d) * static_cast<float>(block.scales[j]);
    requantize_symmetric(x + 16 * j, d, 32, fit.L + 16 * j);
  }
  for (int w = 0; w < kN; ++w) {
    put(block.ql, q6_nibble(w), fit.L[w] & 0x0F);
    put(block.qh, crumb(w), fit.L[w] >> 4);
  }
  return block;
}

// Dequantization: ggml's dequantize_row_q*_K, the same products in the same order per weight.

void dequantize_block_q2_K(const BlockQ2_K& block, float* y) {
  const float d = f16_to_f32(block.d);
  const float dmin = f16_to_f32(block.dmin);
  for (int w = 0; w < kN; ++w) {
    const uint8_t sc = block.scales[w / 16];
    const float dl = d * static_cast<float>(sc & 0x0F);
    const float ml = dmin * static_cast<float>(sc >> 4);
    y[w] = dl * static_cast<float>(get(block.qs, crumb(w), 3)) - ml;
  }
}

void dequantize_block_q3_K(const BlockQ3_K& block, float* y) {
  const float d = f16_to_f32(block.d);
  for (int w = 0; w < kN; ++w) {
    const float dl = d * static_cast<float>(q3_scale(block.scales, w / 16));
    const int q = get(block.qs, crumb(w), 3) - (get(block.hmask, high_bit(w), 1) ? 0 : 4);
    y[w] = dl * static_cast<float>(q);
  }
}

void dequantize_block_q4_K(const BlockQ4_K& block, float* y) {
  const float d = f16_to_f32(block.d);
  const float dmin = f16_to_f32(block.dmin);
  for (int w = 0; w < kN; ++w) {
    int sc, m;
    get_scale_min(block.scales, w / 32, &sc, &m);
    const float dl = d * static_cast<float>(sc);
    const float ml = dmin * static_cast<float>(m);
    y[w] = dl * static_cast<float>(get(block.qs, nibble(w), 0x0F)) - ml;
  }
}

void dequantize_block_q5_K(const BlockQ5_K& block, float* y) {
  const float d = f16_to_f32(block.d);
  const float dmin = f16_to_f32(block.dmin);
  for (int w = 0; w < kN; ++w) {
    int sc, m;
    get_scale_min(block.scales, w / 32, &sc, &m);
    const float dl = d * static_cast<float>(sc);
    const float ml = dmin * static_cast<float>(m);
    const int q = get(block.qs, nibble(w), 0x0F) + (get(block.qh, high_bit(w), 1) ? 16 : 0);
    y[w] = dl * static_cast<float>(q) - ml;
  }
}

void dequantize_block_q6_K(const BlockQ6_K& block, float* y) {
  const float d = f16_to_f32(block.d);
  for (int w = 0; w < kN; ++w) {
    const int q = (get(block.ql, q6_nibble(w), 0x0F) | (get(block.qh, crumb(w), 3) << 4)) - 32;
    y[w] = d * static_cast<float>(block.scales[w / 16]) * static_cast<float>(q);
  }
}

}  // namespace mamba2
