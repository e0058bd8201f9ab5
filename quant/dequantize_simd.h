// The SIMD dequantizers of dequantize_isa.h, written once over the width of their floats. Each
// block's bytes are unpacked 16 weights at a time into signed bytes with SSSE3 (the same on every
// level); `Wide` widens those 16 to floats and applies the block's scale and offset with the
// reference's operations, in its order:
//   Wide::mul(y, q, s)          y[i] = float(q[i]) * s
//   Wide::mul_add(y, q, s, m)   y[i] = float(q[i]) * s + m
//   Wide::mul_sub(y, q, s, m)   y[i] = float(q[i]) * s - m
// Included only by the per-ISA files (dequantize_avx2.cpp, dequantize_avx512.cpp), which the
// build compiles with their own flags and -ffp-contract=off (so a product and a sum stay two
// roundings, as in the scalar code).
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "mamba2/dtype.h"
#include "quant/block_rows.h"
#include "quant/float16.h"
#include "quant/iq4.h"
#include "quant/k_quants.h"
#include "quant/legacy_quants.h"

namespace mamba2::dequantize_detail {
// Each per-ISA file gets its own copies, compiled with its flags: the linker must not pick one
// file's copy of an inline function for another's callers.
namespace {

inline __m128i load16(const uint8_t* bytes) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes));
}
inline __m128i low_nibbles(__m128i bytes) { return _mm_and_si128(bytes, _mm_set1_epi8(0x0F)); }
inline __m128i high_nibbles(__m128i bytes) {
  return _mm_and_si128(_mm_srli_epi16(bytes, 4), _mm_set1_epi8(0x0F));
}
// The 2-bit fields at bit `shift` of each byte (Q2_K and Q3_K quants).
inline __m128i crumbs(__m128i bytes, int shift) {
  return _mm_and_si128(_mm_srl_epi16(bytes, _mm_cvtsi32_si128(shift)), _mm_set1_epi8(3));
}
// Byte i is `value` where bit i of the 16 `bits` is set, else 0 (the 5-bit types' fifth bits).
inline __m128i expand_bits(uint32_t bits, int8_t value) {
  const __m128i spread =
      _mm_shuffle_epi8(_mm_cvtsi32_si128(static_cast<int>(bits)),
                       _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
  const __m128i lanes = _mm_setr_epi8(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
  const __m128i set = _mm_cmpeq_epi8(_mm_and_si128(spread, lanes), lanes);
  return _mm_and_si128(set, _mm_set1_epi8(value));
}
// IQ4's level of each 4-bit index.
inline __m128i iq4_levels(__m128i indices) {
  return _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4Levels)), indices);
}

// One block of each type: the formulas of legacy_quants.cpp, k_quants.cpp and iq4.cpp.
template <class Wide>
struct Dequantizers {
  static void q4_1(const BlockQ4_1& block, float* y) {
    const float d = f16_to_f32(block.d), m = f16_to_f32(block.m);
    const __m128i qs = load16(block.qs);
    Wide::mul_add(y, low_nibbles(qs), d, m);
    Wide::mul_add(y + 16, high_nibbles(qs), d, m);
  }

  static void q5_0(const BlockQ5_0& block, float* y) {
    const float d = f16_to_f32(block.d);
    uint32_t qh;
    std::memcpy(&qh, block.qh, sizeof qh);
    const __m128i qs = load16(block.qs), bias = _mm_set1_epi8(16);
    const __m128i lo = _mm_or_si128(low_nibbles(qs), expand_bits(qh & 0xFFFF, 16));
    const __m128i hi = _mm_or_si128(high_nibbles(qs), expand_bits(qh >> 16, 16));
    Wide::mul(y, _mm_sub_epi8(lo, bias), d);
    Wide::mul(y + 16, _mm_sub_epi8(hi, bias), d);
  }

  static void q5_1(const BlockQ5_1& block, float* y) {
    const float d = f16_to_f32(block.d), m = f16_to_f32(block.m);
    uint32_t qh;
    std::memcpy(&qh, block.qh, sizeof qh);
    const __m128i qs = load16(block.qs);
    Wide::mul_add(y, _mm_or_si128(low_nibbles(qs), expand_bits(qh & 0xFFFF, 16)), d, m);
    Wide::mul_add(y + 16, _mm_or_si128(high_nibbles(qs), expand_bits(qh >> 16, 16)), d, m);
  }

  static void iq4_levels_of(const uint8_t* qs, float scale, float* y) {
    const __m128i indices = load16(qs);
    Wide::mul(y, iq4_levels(low_nibbles(indices)), scale);
    Wide::mul(y + 16, iq4_levels(high_nibbles(indices)), scale);
  }

  static void iq4_nl(const BlockIQ4_NL& block, float* y) {
    iq4_levels_of(block.qs, f16_to_f32(block.d), y);
  }

  static void iq4_xs(const BlockIQ4_XS& block, float* y) {
    const float d = f16_to_f32(block.d);
    for (int ib = 0; ib < 8; ++ib) {
      iq4_levels_of(block.qs + 16 * ib, d * static_cast<float>(iq4_xs_scale(block, ib)),
                    y + 32 * ib);
    }
  }

  // Q2_K and Q3_K: weight 128 c + 32 s + l (chunk c, shift s) has its quant in bits 2 s of byte
  // 32 c + l and belongs to sub-block 8 c + 2 s + l / 16; Q3_K's third bit is bit 4 c + s of
  // hmask[l].
  static void q2_K(const BlockQ2_K& block, float* y) {
    const float d = f16_to_f32(block.d), dmin = f16_to_f32(block.dmin);
    for (int c = 0; c < 2; ++c) {
      for (int s = 0; s < 4; ++s) {
        for (int h = 0; h < 2; ++h) {
          const uint8_t sc = block.scales[8 * c + 2 * s + h];
          const float dl = d * static_cast<float>(sc & 0x0F);
          const float ml = dmin * static_cast<float>(sc >> 4);
          const __m128i q = crumbs(load16(block.qs + 32 * c + 16 * h), 2 * s);
          Wide::mul_sub(y + 128 * c + 32 * s + 16 * h, q, dl, ml);
        }
      }
    }
  }

  static void q3_K(const BlockQ3_K& block, float* y) {
    const float d = f16_to_f32(block.d);
    const __m128i four = _mm_set1_epi8(4), zero = _mm_setzero_si128();
    for (int c = 0; c < 2; ++c) {
      for (int s = 0; s < 4; ++s) {
        const __m128i bit = _mm_set1_epi8(static_cast<char>(1 << (4 * c + s)));
        for (int h = 0; h < 2; ++h) {
          const float dl = d * static_cast<float>(q3_scale(block.scales, 8 * c + 2 * s + h));
          const __m128i low = crumbs(load16(block.qs + 32 * c + 16 * h), 2 * s);
          // q = low - 4 where the third bit is clear.
          const __m128i clear =
              _mm_cmpeq_epi8(_mm_and_si128(load16(block.hmask + 16 * h), bit), zero);
          Wide::mul(y + 128 * c + 32 * s + 16 * h, _mm_sub_epi8(low, _mm_and_si128(clear, four)),
                    dl);
        }
      }
    }
  }
};

template <class Wide>
bool dequantize_blocks_with(DType type, const std::byte* src, float* dst, int64_t blocks) {
  using D = Dequantizers<Wide>;
  using block_rows::dequantize_blocks;
  switch (type) {
    case DType::kQ4_1:
      dequantize_blocks(D::q4_1, kLegacyBlockElems, src, dst, blocks);
      return true;
    case DType::kQ5_0:
      dequantize_blocks(D::q5_0, kLegacyBlockElems, src, dst, blocks);
      return true;
    case DType::kQ5_1:
      dequantize_blocks(D::q5_1, kLegacyBlockElems, src, dst, blocks);
      return true;
    case DType::kQ2_K:
      dequantize_blocks(D::q2_K, kKBlockElems, src, dst, blocks);
      return true;
    case DType::kQ3_K:
      dequantize_blocks(D::q3_K, kKBlockElems, src, dst, blocks);
      return true;
    case DType::kIQ4_NL:
      dequantize_blocks(D::iq4_nl, kIQ4_NLBlockElems, src, dst, blocks);
      return true;
    case DType::kIQ4_XS:
      dequantize_blocks(D::iq4_xs, kIQ4_XSBlockElems, src, dst, blocks);
      return true;
    default:
      return false;  // scalar code (types with integer kernels, and the float types)
  }
}

}  // namespace
}  // namespace mamba2::dequantize_detail
