// The SIMD dequantizers of dequantize_isa.h, written once over the width of their floats. Each
// block's bytes are unpacked 16 weights at a time into signed bytes with SSSE3 (the same on every
// level); `Wide` widens those 16 to floats and applies the block's scale and offset with the
// reference's operations, in its order:
//   Wide::mul(y, q, s)          y[i] = float(q[i]) * s
//   Wide::mul_add(y, q, s, m)   y[i] = float(q[i]) * s + m
//   Wide::mul_sub(y, q, s, m)   y[i] = float(q[i]) * s - m
// Included only by the per-ISA files (dequantize_avx2.cpp, dequantize_avx512.cpp), which the
// build compiles with their own flags (F16C included) and -ffp-contract=off (so a product and a
// sum stay two roundings, as in the scalar code).
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "mamba2/dtype.h"
#include "quant/iq4.h"
#include "quant/k_quants.h"
#include "quant/legacy_quants.h"

namespace mamba2::dequantize_detail {
// Each per-ISA file gets its own copies, compiled with its flags: the linker must not pick one
// file's copy of an inline function for another's callers.
namespace {

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

// A block of the row read where it lies (rows need not be aligned): copying it to a struct first
// stalls every 16-byte load on the store of the copy. Fields by their offset in the block struct.
class InPlace {
 public:
  explicit InPlace(const std::byte* block) : block_(block) {}
  const uint8_t* bytes(size_t offset) const {
    return reinterpret_cast<const uint8_t*>(block_ + offset);
  }
  __m128i load16(size_t offset) const {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(block_ + offset));
  }
  uint16_t u16(size_t offset) const {
    uint16_t value;
    std::memcpy(&value, block_ + offset, sizeof value);
    return value;
  }
  uint32_t u32(size_t offset) const {
    uint32_t value;
    std::memcpy(&value, block_ + offset, sizeof value);
    return value;
  }
  // An f16 scale: vcvtph2ps is exact, f16_to_f32's float (a NaN stays a NaN) without a call.
  float half(size_t offset) const {
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(u16(offset))));
  }

 private:
  const std::byte* block_;
};

// One block of each type: the formulas of legacy_quants.cpp, k_quants.cpp and iq4.cpp.
template <class Wide>
struct Dequantizers {
  static void q4_1(InPlace b, float* y) {
    const float d = b.half(offsetof(BlockQ4_1, d)), m = b.half(offsetof(BlockQ4_1, m));
    const __m128i qs = b.load16(offsetof(BlockQ4_1, qs));
    Wide::mul_add(y, low_nibbles(qs), d, m);
    Wide::mul_add(y + 16, high_nibbles(qs), d, m);
  }

  static void q5_0(InPlace b, float* y) {
    const float d = b.half(offsetof(BlockQ5_0, d));
    const uint32_t qh = b.u32(offsetof(BlockQ5_0, qh));
    const __m128i qs = b.load16(offsetof(BlockQ5_0, qs)), bias = _mm_set1_epi8(16);
    const __m128i lo = _mm_or_si128(low_nibbles(qs), expand_bits(qh & 0xFFFF, 16));
    const __m128i hi = _mm_or_si128(high_nibbles(qs), expand_bits(qh >> 16, 16));
    Wide::mul(y, _mm_sub_epi8(lo, bias), d);
    Wide::mul(y + 16, _mm_sub_epi8(hi, bias), d);
  }

  static void q5_1(InPlace b, float* y) {
    const float d = b.half(offsetof(BlockQ5_1, d)), m = b.half(offsetof(BlockQ5_1, m));
    const uint32_t qh = b.u32(offsetof(BlockQ5_1, qh));
    const __m128i qs = b.load16(offsetof(BlockQ5_1, qs));
    Wide::mul_add(y, _mm_or_si128(low_nibbles(qs), expand_bits(qh & 0xFFFF, 16)), d, m);
    Wide::mul_add(y + 16, _mm_or_si128(high_nibbles(qs), expand_bits(qh >> 16, 16)), d, m);
  }

  static void iq4_levels_of(__m128i indices, float scale, float* y) {
    Wide::mul(y, iq4_levels(low_nibbles(indices)), scale);
    Wide::mul(y + 16, iq4_levels(high_nibbles(indices)), scale);
  }

  static void iq4_nl(InPlace b, float* y) {
    iq4_levels_of(b.load16(offsetof(BlockIQ4_NL, qs)), b.half(offsetof(BlockIQ4_NL, d)), y);
  }

  static void iq4_xs(InPlace b, float* y) {
    const float d = b.half(offsetof(BlockIQ4_XS, d));
    const uint16_t scales_h = b.u16(offsetof(BlockIQ4_XS, scales_h));
    const uint8_t* scales_l = b.bytes(offsetof(BlockIQ4_XS, scales_l));
    for (int ib = 0; ib < 8; ++ib) {
      const float dl = d * static_cast<float>(iq4_xs_scale(scales_l, scales_h, ib));
      iq4_levels_of(b.load16(offsetof(BlockIQ4_XS, qs) + 16 * ib), dl, y + 32 * ib);
    }
  }

  // Q2_K and Q3_K: weight 128 c + 32 s + l (chunk c, shift s) has its quant in bits 2 s of byte
  // 32 c + l and belongs to sub-block 8 c + 2 s + l / 16; Q3_K's third bit is bit 4 c + s of
  // hmask[l].
  static void q2_K(InPlace b, float* y) {
    const float d = b.half(offsetof(BlockQ2_K, d)), dmin = b.half(offsetof(BlockQ2_K, dmin));
    const uint8_t* scales = b.bytes(offsetof(BlockQ2_K, scales));
    for (int c = 0; c < 2; ++c) {
      for (int h = 0; h < 2; ++h) {
        const __m128i qs = b.load16(offsetof(BlockQ2_K, qs) + 32 * c + 16 * h);
        for (int s = 0; s < 4; ++s) {
          const uint8_t sc = scales[8 * c + 2 * s + h];
          const float dl = d * static_cast<float>(sc & 0x0F);
          const float ml = dmin * static_cast<float>(sc >> 4);
          Wide::mul_sub(y + 128 * c + 32 * s + 16 * h, crumbs(qs, 2 * s), dl, ml);
        }
      }
    }
  }

  static void q3_K(InPlace b, float* y) {
    const float d = b.half(offsetof(BlockQ3_K, d));
    const uint8_t* scales = b.bytes(offsetof(BlockQ3_K, scales));
    const __m128i four = _mm_set1_epi8(4), zero = _mm_setzero_si128();
    for (int c = 0; c < 2; ++c) {
      for (int h = 0; h < 2; ++h) {
        const __m128i qs = b.load16(offsetof(BlockQ3_K, qs) + 32 * c + 16 * h);
        const __m128i hmask = b.load16(offsetof(BlockQ3_K, hmask) + 16 * h);
        for (int s = 0; s < 4; ++s) {
          const float dl = d * static_cast<float>(q3_scale(scales, 8 * c + 2 * s + h));
          // q = low - 4 where the third bit is clear.
          const __m128i bit = _mm_set1_epi8(static_cast<char>(1 << (4 * c + s)));
          const __m128i clear = _mm_cmpeq_epi8(_mm_and_si128(hmask, bit), zero);
          const __m128i q = _mm_sub_epi8(crumbs(qs, 2 * s), _mm_and_si128(clear, four));
          Wide::mul(y + 128 * c + 32 * s + 16 * h, q, dl);
        }
      }
    }
  }
};

// `blocks` blocks of `block_bytes` each at src, `block_elems` floats each to dst.
template <class Dequantize>
void each_block(Dequantize dequantize, int64_t block_bytes, int64_t block_elems,
                const std::byte* src, float* dst, int64_t blocks) {
  for (int64_t i = 0; i < blocks; ++i)
    dequantize(InPlace(src + i * block_bytes), dst + i * block_elems);
}

template <class Wide>
bool dequantize_blocks_with(DType type, const std::byte* src, float* dst, int64_t blocks) {
  using D = Dequantizers<Wide>;
  const auto run = [&](void (*dequantize)(InPlace, float*), size_t block_bytes, int64_t elems) {
    each_block(dequantize, static_cast<int64_t>(block_bytes), elems, src, dst, blocks);
    return true;
  };
  switch (type) {
    case DType::kQ4_1:
      return run(D::q4_1, sizeof(BlockQ4_1), kLegacyBlockElems);
    case DType::kQ5_0:
      return run(D::q5_0, sizeof(BlockQ5_0), kLegacyBlockElems);
    case DType::kQ5_1:
      return run(D::q5_1, sizeof(BlockQ5_1), kLegacyBlockElems);
    case DType::kQ2_K:
      return run(D::q2_K, sizeof(BlockQ2_K), kKBlockElems);
    case DType::kQ3_K:
      return run(D::q3_K, sizeof(BlockQ3_K), kKBlockElems);
    case DType::kIQ4_NL:
      return run(D::iq4_nl, sizeof(BlockIQ4_NL), kIQ4_NLBlockElems);
    case DType::kIQ4_XS:
      return run(D::iq4_xs, sizeof(BlockIQ4_XS), kIQ4_XSBlockElems);
    default:
      return false;  // scalar code (types with integer kernels, and the float types)
  }
}

}  // namespace
}  // namespace mamba2::dequantize_detail
