// matmul_quant's path for Q4_0 and Q4_K weights interleaved (matmul_q4.h), on CPUs with
// AVX512-VNNI (compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx512vnni -mfma
// -mf16c). Each 64-byte line of nibbles gives sixteen rows' four inputs twice: its low nibbles
// (one and) and its high ones (one and, in place: 16 x their value), each one vpdpbusd against a
// token's four activations broadcast, so a block's exact integer sum of sixteen outputs builds up
// lane by lane and the float work is one fma per block (Q4_0) or sub-block (Q4_K) per sixteen
// outputs.
#include <cstring>

#include "kernels/interleaved_tiles_avx512.h"
#include "kernels/matmul_q4.h"
#include "kernels/matmul_unroll.h"

namespace mamba2::kernels::q4_detail {
namespace {

using interleaved::TileOutput;

// Ahead of each line read from memory (decode), the line this many bytes further; a tile of
// several tokens spends longer on each line, so it asks further ahead (as matmul_q8_0's).
template <int kTokens>
constexpr int64_t kPrefetchBytes = kTokens > 1 ? 4096 : 2048;

inline const __m512i* line_at(const std::byte* p) { return reinterpret_cast<const __m512i*>(p); }

inline __m512 halves_at(const std::byte* p) {  // sixteen f16 as f32
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// Four activation quants from `x` broadcast to every lane.
inline __m512i four_at(const int8_t* x) {
  int32_t four;
  std::memcpy(&four, x, sizeof four);
  return _mm512_set1_epi32(four);
}

// The low nibbles of a line of quants (each byte 0..15), and the high ones left in place (16
// times their value): a dot product with them is 16 times the high nibbles' one, exactly (at
// most 4 * 240 * 128 per lane and step), so a shift of the sum replaces one per line.
inline __m512i low_nibbles(__m512i q) { return _mm512_and_si512(q, _mm512_set1_epi8(0x0F)); }
inline __m512i high_nibbles_x16(__m512i q) {
  return _mm512_and_si512(q, _mm512_set1_epi8(static_cast<char>(0xF0)));
}
inline __m512i divided_by_16(__m512i sum) { return _mm512_srai_epi32(sum, 4); }

template <bool kPrefetch, int kTokens>
inline __m512i load_line(const std::byte* p) {
  if constexpr (kPrefetch) {
    _mm_prefetch(reinterpret_cast<const char*>(p) + kPrefetchBytes<kTokens>, _MM_HINT_T0);
  }
  return _mm512_loadu_si512(line_at(p));
}

// Q4_0: per block, the integer sums start at -8 * (the sum of the block's activation quants), the
// quants' bias taken back out (block_offsets holds -128 times that sum), and take 8 vpdpbusd.
struct Q4_0Interleaved {
  static constexpr int kGemvGroups = 4, kGemmGroups = 2, kGemmTokens = 4;
  static int64_t row_bytes(int64_t k) { return k / 32 * 18; }

  template <int kGroups, int kTokens, bool kPrefetch>
  static void tile(const MatmulOperands& args, const Q8_0Activations& xq, int64_t row, int64_t t0,
                   const TileOutput& out) {
    const int64_t blocks = xq.blocks();
    const int64_t group_bytes = blocks / kQ4_0UnitBlocks * kQ4_0UnitBytes;
    const std::byte* w = args.w.data + row / kQ4UnitRows * group_bytes;
    const int8_t* x_quants = xq.quants.data() + t0 * xq.k;             // [kTokens, K]
    const float* x_scales = xq.scales.data() + t0 * blocks;            // [kTokens, K / 32]
    const int32_t* x_offsets = xq.block_offsets.data() + t0 * blocks;  // [kTokens, K / 32]
    __m512 acc[kGroups][kTokens];
    unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
      unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE { acc[g][t] = _mm512_setzero_ps(); });
    });
    for (int64_t b = 0; b < blocks; ++b) {
      const std::byte* unit = w + b / kQ4_0UnitBlocks * kQ4_0UnitBytes;
      const int64_t j = b % kQ4_0UnitBlocks;  // the block's place in its unit
      // Two chains per output: the low nibbles (from the bias's start) and 16 x the high ones.
      __m512i isum[kGroups][kTokens], isum_high[kGroups][kTokens];
      unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
        const __m512i start = _mm512_set1_epi32(x_offsets[t * blocks + b] / 16);
        unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
          isum[g][t] = start;
          isum_high[g][t] = _mm512_setzero_si512();
        });
      });
      unroll<4>([&](auto s) MAMBA2_ALWAYS_INLINE {
        __m512i low[kGroups], high[kGroups];
        unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
          const __m512i q =
              load_line<kPrefetch, kTokens>(unit + g * group_bytes + 256 * j + 64 * s);
          low[g] = low_nibbles(q);
          high[g] = high_nibbles_x16(q);
        });
        unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
          const int8_t* x = x_quants + t * xq.k + b * 32 + 4 * s;
          const __m512i x_low = four_at(x), x_high = four_at(x + 16);
          unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
            isum[g][t] = _mm512_dpbusd_epi32(isum[g][t], low[g], x_low);
            isum_high[g][t] = _mm512_dpbusd_epi32(isum_high[g][t], high[g], x_high);
          });
        });
      });
      unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
        const __m512 dw = halves_at(unit + g * group_bytes + kQ4_0UnitScaleOffset + 32 * j);
        unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
          const __m512 scale = _mm512_mul_ps(dw, _mm512_set1_ps(x_scales[t * blocks + b]));
          const __m512i sum = _mm512_add_epi32(isum[g][t], divided_by_16(isum_high[g][t]));
          acc[g][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), scale, acc[g][t]);
        });
      });
    }
    unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
      unroll<kGroups>(
          [&](auto g) MAMBA2_ALWAYS_INLINE { interleaved::store_outputs(out, t, g, acc[g][t]); });
    });
  }
};

// Q4_K's sixteen rows' 6-bit scales and minimums, unpacked from the unit's three words of packed
// bytes as k_scale_min does: four bytes per lane, sub-blocks 0-3 and 4-7.
struct KScales {
  __m512i scales[2];
  __m512i mins[2];
};

inline KScales unpack_scales(const std::byte* unit) {
  const __m512i w0 = _mm512_loadu_si512(line_at(unit + kQ4_KUnitScaleOffset));
  const __m512i w1 = _mm512_loadu_si512(line_at(unit + kQ4_KUnitScaleOffset + 64));
  const __m512i w2 = _mm512_loadu_si512(line_at(unit + kQ4_KUnitScaleOffset + 128));
  const __m512i six = _mm512_set1_epi32(0x3F3F3F3F), low = _mm512_set1_epi32(0x0F0F0F0F),
                top = _mm512_set1_epi32(0x03030303);
  const auto top_bits = [&](__m512i word) {
    return _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(word, 6), top), 4);
  };
  return {{_mm512_and_si512(w0, six), _mm512_or_si512(_mm512_and_si512(w2, low), top_bits(w0))},
          {_mm512_and_si512(w1, six),
           _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(w2, 4), low), top_bits(w1))}};
}

// Byte g % 4 of each lane of the word of sub-blocks g, as a float.
template <int g>
inline __m512 byte_of(const __m512i (&words)[2]) {
  const __m512i shifted = _mm512_srli_epi32(words[g / 4], 8 * (g % 4));
  return _mm512_cvtepi32_ps(_mm512_and_si512(shifted, _mm512_set1_epi32(0xFF)));
}

// Q4_K: per chunk c of 64 inputs, eight lines give sub-block 2c (low nibbles) and 2c + 1 (high)
// in 16 vpdpbusd; the quants carry no bias (their minimums are a float sum of their own).
struct Q4_KInterleaved {
  static constexpr int kGemvGroups = 4, kGemmGroups = 2, kGemmTokens = 3;
  static int64_t row_bytes(int64_t k) { return k / 256 * 144; }

  template <int kGroups, int kTokens, bool kPrefetch>
  static void tile(const MatmulOperands& args, const Q8_0Activations& xq, int64_t row, int64_t t0,
                   const TileOutput& out) {
    const int64_t blocks = xq.blocks();  // activation blocks of 32: 8 per super-block
    const int64_t group_bytes = blocks / 8 * kQ4_KUnitBytes;
    const std::byte* w = args.w.data + row / kQ4UnitRows * group_bytes;
    const int8_t* x_quants = xq.quants.data() + t0 * xq.k;   // [kTokens, K]
    const float* x_scales = xq.scales.data() + t0 * blocks;  // [kTokens, K / 32]
    const float* x_sums = xq.sums.data() + t0 * blocks;      // [kTokens, K / 32]
    __m512 acc[kGroups][kTokens], mins[kGroups][kTokens];
    unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
      unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
        acc[g][t] = _mm512_setzero_ps();
        mins[g][t] = _mm512_setzero_ps();
      });
    });
    for (int64_t b0 = 0; b0 < blocks; b0 += 8) {
      const std::byte* unit = w + b0 / 8 * kQ4_KUnitBytes;
      unroll<4>([&](auto c) MAMBA2_ALWAYS_INLINE {
        __m512i isum[kGroups][kTokens][2];  // sub-blocks 2c, 2c + 1 (16 x)
        unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
          unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
            isum[g][t][0] = isum[g][t][1] = _mm512_setzero_si512();
          });
        });
        unroll<8>([&](auto s) MAMBA2_ALWAYS_INLINE {
          __m512i low[kGroups], high[kGroups];
          unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
            const __m512i q =
                load_line<kPrefetch, kTokens>(unit + g * group_bytes + 512 * c + 64 * s);
            low[g] = low_nibbles(q);
            high[g] = high_nibbles_x16(q);
          });
          unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
            const int8_t* x = x_quants + t * xq.k + b0 * 32 + 64 * c + 4 * s;
            const __m512i x_low = four_at(x), x_high = four_at(x + 32);
            unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
              isum[g][t][0] = _mm512_dpbusd_epi32(isum[g][t][0], low[g], x_low);
              isum[g][t][1] = _mm512_dpbusd_epi32(isum[g][t][1], high[g], x_high);
            });
          });
        });
        unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
          const std::byte* group_unit = unit + g * group_bytes;
          const KScales k = unpack_scales(group_unit);
          const __m512 d = halves_at(group_unit + kQ4_KUnitDOffset);
          const __m512 dmin = halves_at(group_unit + kQ4_KUnitDminOffset);
          unroll<2>([&](auto h) MAMBA2_ALWAYS_INLINE {
            constexpr int sub = 2 * decltype(c)::value + decltype(h)::value;
            const __m512 ds = _mm512_mul_ps(d, byte_of<sub>(k.scales));
            const __m512 dm = _mm512_mul_ps(dmin, byte_of<sub>(k.mins));
            unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
              const int64_t b = t * blocks + b0 + sub;
              const __m512 scale = _mm512_mul_ps(ds, _mm512_set1_ps(x_scales[b]));
              const __m512i sum = h == 0 ? isum[g][t][0] : divided_by_16(isum[g][t][1]);
              acc[g][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), scale, acc[g][t]);
              mins[g][t] = _mm512_fmadd_ps(dm, _mm512_set1_ps(x_sums[b]), mins[g][t]);
            });
          });
        });
      });
    }
    unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
      unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
        interleaved::store_outputs(out, t, g, _mm512_sub_ps(acc[g][t], mins[g][t]));
      });
    });
  }
};

}  // namespace

void matmul_avx512vnni_interleaved(const MatmulOperands& args, const Q8_0Activations& xq,
                                   int64_t n_begin, int64_t n_end) {
  if (args.w.type == DType::kQ4_0) {
    return interleaved::matmul<Q4_0Interleaved>(args, xq, n_begin, n_end);
  }
  interleaved::matmul<Q4_KInterleaved>(args, xq, n_begin, n_end);
}

}  // namespace mamba2::kernels::q4_detail
