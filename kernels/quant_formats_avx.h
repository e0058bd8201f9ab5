// The block types as the 256-bit tiles of matmul_quant_avx.h read them: the SIMD twins of
// quant_groups.cpp's decoding (same quants, same scale products), one struct per type:
//   kGroups, kBlockBytes     groups of 32 weights per block, bytes per block
//   kSigned, kBias           quants() gives signed bytes (Q8_0), or unsigned ones kBias above the
//                            signed value
//   kMins                    Header::mins holds dmin * m of the block's eight groups
//   Header header(block)     once per row and block
//   quants(Header, g)        group g's 32 quant bytes
//   scale(Header, g)         the weight scale of group g: a float, or one per lane (__m256)
// Included only by the per-ISA translation units, after matmul_quant_avx.h; AVX2 suffices.
#pragma once

#include "kernels/matmul_quant_avx.h"
#include "quant/k_quants.h"
#include "quant/legacy_quants.h"
#include "quant/q8_0.h"

namespace mamba2::kernels::quant_avx {
namespace {

inline __m256i low_nibbles(__m256i q) { return _mm256_and_si256(q, _mm256_set1_epi8(0x0F)); }
inline __m256i high_nibbles(__m256i q) { return low_nibbles(_mm256_srli_epi16(q, 4)); }

struct Q8_0Format {
  static constexpr int kGroups = 1;
  static constexpr int64_t kBlockBytes = sizeof(BlockQ8_0);
  static constexpr bool kSigned = true;
  static constexpr int kBias = 128;
  static constexpr bool kMins = false;
  struct Header {
    const std::byte* block;
    float d;
  };
  static Header header(const std::byte* block) { return {block, f16_at(block)}; }
  static __m256i quants(const Header& h, int) {
    return load_quants(h.block + offsetof(BlockQ8_0, qs));
  }
  static float scale(const Header& h, int) { return h.d; }
};

// Weight j in the low nibble of qs[j], weight j + 16 in its high nibble; q - 8.
struct Q4_0Format {
  static constexpr int kGroups = 1;
  static constexpr int64_t kBlockBytes = sizeof(BlockQ4_0);
  static constexpr bool kSigned = false;
  static constexpr int kBias = 8;
  static constexpr bool kMins = false;
  using Header = Q8_0Format::Header;
  static Header header(const std::byte* block) { return {block, f16_at(block)}; }
  static __m256i quants(const Header& h, int) {
    const __m128i q =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(h.block + offsetof(BlockQ4_0, qs)));
    return low_nibbles(_mm256_set_m128i(_mm_srli_epi16(q, 4), q));
  }
  static float scale(const Header& h, int) { return h.d; }
};

// Q4_K and Q5_K: eight groups with 6-bit scales and minimums. The twelve packed bytes unpack as
// four words: bytes 0-3 scales 0-3, 4-7 scales 4-7 (low nibbles from bytes 8-11, top bits from
// the top of bytes 0-3), 8-11 minimums 0-3, 12-15 minimums 4-7 (the same from bytes 4-7); see
// k_scale_min in quant/k_quants.h.
template <class Block>
struct K4Format {
  static constexpr int kGroups = 8;
  static constexpr int64_t kBlockBytes = sizeof(Block);
  static constexpr bool kSigned = false;
  static constexpr int kBias = 0;
  static constexpr bool kMins = true;
  static constexpr bool kFifthBit = sizeof(Block) == sizeof(BlockQ5_K);
  struct Header {
    const std::byte* block;
    float scales[8];  // d * sc
    __m256 mins;      // dmin * m
  };
  static Header header(const std::byte* block) {
    uint32_t packed[3];
    std::memcpy(packed, block + offsetof(Block, scales), sizeof packed);
    constexpr uint32_t kSix = 0x3F3F3F3F, kLow = 0x0F0F0F0F, kTop = 0x03030303;
    const uint32_t words[4] = {
        packed[0] & kSix, (packed[2] & kLow) | (((packed[0] >> 6) & kTop) << 4), packed[1] & kSix,
        ((packed[2] >> 4) & kLow) | (((packed[1] >> 6) & kTop) << 4)};
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(words));
    const __m256 scales = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes));
    const __m256 mins = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(bytes, 8)));
    Header h{block, {}, _mm256_mul_ps(_mm256_set1_ps(f16_at(block + offsetof(Block, dmin))), mins)};
    _mm256_storeu_ps(h.scales, _mm256_mul_ps(_mm256_set1_ps(f16_at(block)), scales));
    return h;
  }
  // Group g: the low (g even) or high nibbles of qs[32 (g / 2), +32); Q5_K adds bit g of qh[l].
  template <int g>
  static __m256i quants(const Header& h, std::integral_constant<int, g>) {
    const __m256i q = load_quants(h.block + offsetof(Block, qs) + 32 * (g / 2));
    const __m256i nibbles = g % 2 == 0 ? low_nibbles(q) : high_nibbles(q);
    if constexpr (!kFifthBit) {
      return nibbles;
    } else {
      const __m256i qh = load_quants(h.block + offsetof(BlockQ5_K, qh));
      const __m256i bit = _mm256_and_si256(_mm256_srli_epi16(qh, g), _mm256_set1_epi8(1));
      return _mm256_or_si256(nibbles, _mm256_slli_epi16(bit, 4));
    }
  }
  static float scale(const Header& h, int g) { return h.scales[g]; }
};

// Group g = 4c + s of chunk c: the low (s < 2) or high nibbles of ql[64 c + 32 (s % 2), +32),
// the high 2 bits at bit 2 s of qh[32 c + l]; q - 32. Lanes 0-3 take scale 2 g, lanes 4-7 2 g + 1.
struct Q6_KFormat {
  static constexpr int kGroups = 8;
  static constexpr int64_t kBlockBytes = sizeof(BlockQ6_K);
  static constexpr bool kSigned = false;
  static constexpr int kBias = 32;
  static constexpr bool kMins = false;
  struct Header {
    const std::byte* block;
    float scales[16];  // d * sc
  };
  static Header header(const std::byte* block) {
    Header h{block, {}};
    const __m128i sc =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + offsetof(BlockQ6_K, scales)));
    const __m256 d = _mm256_set1_ps(f16_at(block + offsetof(BlockQ6_K, d)));
    _mm256_storeu_ps(h.scales, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(sc))));
    _mm256_storeu_ps(
        h.scales + 8,
        _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(sc, 8)))));
    return h;
  }
  template <int g>
  static __m256i quants(const Header& h, std::integral_constant<int, g>) {
    constexpr int c = g / 4, s = g % 4;
    const __m256i ql = load_quants(h.block + offsetof(BlockQ6_K, ql) + 64 * c + 32 * (s % 2));
    const __m256i qh = load_quants(h.block + offsetof(BlockQ6_K, qh) + 32 * c);
    const __m256i low = s < 2 ? low_nibbles(ql) : high_nibbles(ql);
    const __m256i high = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * s), _mm256_set1_epi8(3));
    return _mm256_or_si256(low, _mm256_slli_epi16(high, 4));
  }
  static __m256 scale(const Header& h, int g) {
    return _mm256_set_m128(_mm_set1_ps(h.scales[2 * g + 1]), _mm_set1_ps(h.scales[2 * g]));
  }
};

// matmul_quant's body for W as stored, for every type it reads.
template <class Ops>
void matmul(const MatmulOperands& args, const Q8_0Activations& xq, int64_t n_begin, int64_t n_end) {
  switch (args.w.type) {
    case DType::kQ4_0:
      return matmul_format<Ops, Q4_0Format>(args, xq, n_begin, n_end);
    case DType::kQ4_K:
      return matmul_format<Ops, K4Format<BlockQ4_K>>(args, xq, n_begin, n_end);
    case DType::kQ5_K:
      return matmul_format<Ops, K4Format<BlockQ5_K>>(args, xq, n_begin, n_end);
    case DType::kQ6_K:
      return matmul_format<Ops, Q6_KFormat>(args, xq, n_begin, n_end);
    default:  // Q8_0 (matmul_quant checked the type)
      return matmul_format<Ops, Q8_0Format>(args, xq, n_begin, n_end);
  }
}

}  // namespace
}  // namespace mamba2::kernels::quant_avx
