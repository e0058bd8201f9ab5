#include "quant/legacy_quants.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "quant/float16.h"
#include "quant/ggml_rounding.h"

namespace mamba2 {
namespace {

using ggml_rounding::truncate_to_int;
constexpr int kHalf = kLegacyBlockElems / 2;  // weights j and j + 16 share a byte

// The value of largest magnitude, the first of them on a tie (its sign sets the scale's).
float signed_absmax(const float* x) {
  float amax = 0.0f;
  float max = 0.0f;
  for (int j = 0; j < kLegacyBlockElems; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

void min_max(const float* x, float* min, float* max) {
  *min = FLT_MAX;
  *max = -FLT_MAX;
  for (int j = 0; j < kLegacyBlockElems; ++j) {
    if (x[j] < *min) *min = x[j];
    if (x[j] > *max) *max = x[j];
  }
}

// ggml's (uint8_t) cast of a quant already in 0..255: truncation, then the low byte.
uint8_t truncate_to_u8(float v) { return static_cast<uint8_t>(truncate_to_int(v)); }
// ggml's MIN(limit, (int8_t)v).
uint8_t truncate_capped(float v, int limit) {
  return static_cast<uint8_t>(std::min(limit, int{static_cast<int8_t>(truncate_to_int(v))}));
}

uint32_t load_qh(const uint8_t* qh) {
  uint32_t bits;
  std::memcpy(&bits, qh, sizeof bits);  // little-endian, as ggml's memcpy
  return bits;
}

void store_qh(uint32_t bits, uint8_t* qh) { std::memcpy(qh, &bits, sizeof bits); }

// Quants 0..31 of a 5-bit block from its nibbles and fifth bits.
void unpack_q5(const uint8_t* qs, const uint8_t* qh_bytes, int* q) {
  const uint32_t qh = load_qh(qh_bytes);
  for (int j = 0; j < kHalf; ++j) {
    q[j] = (qs[j] & 0x0F) | static_cast<int>(((qh >> j) << 4) & 0x10);
    q[j + kHalf] = (qs[j] >> 4) | static_cast<int>((qh >> (j + 12)) & 0x10);
  }
}

// Nibbles and fifth bits of quants 0..31.
void pack_q5(const uint8_t* q, uint8_t* qs, uint8_t* qh_bytes) {
  uint32_t qh = 0;
  for (int j = 0; j < kHalf; ++j) {
    qs[j] = static_cast<uint8_t>((q[j] & 0x0F) | ((q[j + kHalf] & 0x0F) << 4));
    qh |= ((q[j] & 0x10u) >> 4) << j;
    qh |= ((q[j + kHalf] & 0x10u) >> 4) << (j + kHalf);
  }
  store_qh(qh, qh_bytes);
}

}  // namespace

// Each quantizer does ggml's float operations in ggml's order, so the bytes match llama-quantize's.

BlockQ4_0 quantize_block_q4_0(const float* x) {
  // The extreme weight maps to q = 0 (d's sign makes it so), the rest round into 0..15.
  const float d = signed_absmax(x) / -8;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  BlockQ4_0 block;
  block.d = f32_to_f16(d);
  for (int j = 0; j < kHalf; ++j) {
    const uint8_t lo = truncate_capped(x[j] * id + 8.5f, 15);
    const uint8_t hi = truncate_capped(x[j + kHalf] * id + 8.5f, 15);
    block.qs[j] = static_cast<uint8_t>(lo | (hi << 4));
  }
  return block;
}

BlockQ4_1 quantize_block_q4_1(const float* x) {
  float min, max;
  min_max(x, &min, &max);
  const float d = (max - min) / ((1 << 4) - 1);
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  BlockQ4_1 block;
  block.d = f32_to_f16(d);
  block.m = f32_to_f16(min);
  for (int j = 0; j < kHalf; ++j) {
    const uint8_t lo = truncate_capped((x[j] - min) * id + 0.5f, 15);
    const uint8_t hi = truncate_capped((x[j + kHalf] - min) * id + 0.5f, 15);
    block.qs[j] = static_cast<uint8_t>(lo | (hi << 4));
  }
  return block;
}

BlockQ5_0 quantize_block_q5_0(const float* x) {
  const float d = signed_absmax(x) / -16;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  uint8_t q[kLegacyBlockElems];
  for (int j = 0; j < kLegacyBlockElems; ++j) q[j] = truncate_capped(x[j] * id + 16.5f, 31);
  BlockQ5_0 block;
  block.d = f32_to_f16(d);
  pack_q5(q, block.qs, block.qh);
  return block;
}

BlockQ5_1 quantize_block_q5_1(const float* x) {
  float min, max;
  min_max(x, &min, &max);
  const float d = (max - min) / ((1 << 5) - 1);
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  uint8_t q[kLegacyBlockElems];
  // No cap: ggml has none for Q5_1 (the largest weight lands on 31.5 minus rounding at most).
  for (int j = 0; j < kLegacyBlockElems; ++j) q[j] = truncate_to_u8((x[j] - min) * id + 0.5f);
  BlockQ5_1 block;
  block.d = f32_to_f16(d);
  block.m = f32_to_f16(min);
  pack_q5(q, block.qs, block.qh);
  return block;
}

void dequantize_block_q4_0(const BlockQ4_0& block, float* y) {
  const float d = f16_to_f32(block.d);
  for (int j = 0; j < kHalf; ++j) {
    y[j] = static_cast<float>((block.qs[j] & 0x0F) - 8) * d;
    y[j + kHalf] = static_cast<float>((block.qs[j] >> 4) - 8) * d;
  }
}

void dequantize_block_q4_1(const BlockQ4_1& block, float* y) {
  const float d = f16_to_f32(block.d);
  const float m = f16_to_f32(block.m);
  for (int j = 0; j < kHalf; ++j) {
    y[j] = static_cast<float>(block.qs[j] & 0x0F) * d + m;
    y[j + kHalf] = static_cast<float>(block.qs[j] >> 4) * d + m;
  }
}

void dequantize_block_q5_0(const BlockQ5_0& block, float* y) {
  const float d = f16_to_f32(block.d);
  int q[kLegacyBlockElems];
  unpack_q5(block.qs, block.qh, q);
  for (int j = 0; j < kLegacyBlockElems; ++j) y[j] = static_cast<float>(q[j] - 16) * d;
}

void dequantize_block_q5_1(const BlockQ5_1& block, float* y) {
  const float d = f16_to_f32(block.d);
  const float m = f16_to_f32(block.m);
  int q[kLegacyBlockElems];
  unpack_q5(block.qs, block.qh, q);
  for (int j = 0; j < kLegacyBlockElems; ++j) y[j] = static_cast<float>(q[j]) * d + m;
}

}  // namespace mamba2
