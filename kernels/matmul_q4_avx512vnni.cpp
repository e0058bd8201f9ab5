// matmul_quant's path for Q4_0 and Q4_K weights interleaved (matmul_q4.h), on CPUs with
// AVX512-VNNI (compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx512vnni -mfma
// -mf16c). Each 64-byte line of nibbles gives sixteen rows' four inputs twice: its low nibbles
// (one and) and its high ones (one and, in place: 16 x their value), each one vpdpbusd against a
// token's four activations broadcast, so a block's exact integer sum of sixteen outputs builds up
// lane by lane and the float work is one fma per block (Q4_0) or sub-block (Q4_K) per sixteen
// outputs. That is the GEMV (decode). A GEMM unpacks each cache tile's nibbles once into a
// QuantPanel, one byte per input in Q8_0's line order, and runs Q8_0's block tile over it
// (interleaved::add_byte_block): the two chains per output the nibbles need in place (the high
// ones shifted down would cost a shift per line and group) held the tile to four tokens (Q4_0)
// or three (Q4_K) where Q8_0's holds six, and the panel's unpacking is shared by every token of
// the call (130m in_proj, 256 tokens, one thread, GFLOP/s best of 4 x 5 on a loaded machine:
// Q4_0 285 -> 317, Q4_K 250 -> 308, Q8_0 330).

#include "kernels/interleaved_tiles_avx512.h"
#include "kernels/matmul_q4.h"
#include "kernels/matmul_unroll.h"

namespace mamba2::kernels::q4_detail {
namespace {

using interleaved::QuantPanel;
using interleaved::TileOutput;

// Ahead of each line read from memory (decode), the line this many bytes further; a tile of
// several tokens spends longer on each line, so it asks further ahead (as matmul_q8_0's).
template <int kTokens>
constexpr int64_t kPrefetchBytes = kTokens > 1 ? 4096 : 2048;

inline const __m512i* line_at(const std::byte* p) { return reinterpret_cast<const __m512i*>(p); }

inline __m512 halves_at(const std::byte* p) {  // sixteen f16 as f32
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// The low nibbles of a line of quants (each byte 0..15), and the high ones left in place (16
// times their value): a dot product with them is 16 times the high nibbles' one, exactly (at
// most 4 * 240 * 128 per lane and step), so a shift of the sum replaces one per line. A panel
// takes them shifted down (high_nibbles, 0..15).
inline __m512i low_nibbles(__m512i q) { return _mm512_and_si512(q, _mm512_set1_epi8(0x0F)); }
inline __m512i high_nibbles_x16(__m512i q) {
  return _mm512_and_si512(q, _mm512_set1_epi8(static_cast<char>(0xF0)));
}
inline __m512i high_nibbles(__m512i q) { return low_nibbles(_mm512_srli_epi16(q, 4)); }
inline __m512i divided_by_16(__m512i sum) { return _mm512_srai_epi32(sum, 4); }

template <bool kPrefetch, int kTokens>
inline __m512i load_line(const std::byte* p) {
  if constexpr (kPrefetch) {
    _mm_prefetch(reinterpret_cast<const char*>(p) + kPrefetchBytes<kTokens>, _MM_HINT_T0);
  }
  return _mm512_loadu_si512(line_at(p));
}

// One line of each of kGroups groups from `line` (group_bytes apart): its low nibbles against
// every token's four activations at input i into low_sums, 16 x its high ones against those at
// i + high_inputs into high_sums.
template <int kGroups, int kTokens, bool kPrefetch>
MAMBA2_ALWAYS_INLINE inline void add_nibble_line(const std::byte* line, int64_t group_bytes,
                                                 const interleaved::TileActivations& x, int64_t i,
                                                 int64_t high_inputs,
                                                 __m512i (&low_sums)[kGroups][kTokens],
                                                 __m512i (&high_sums)[kGroups][kTokens]) {
  __m512i low[kGroups], high[kGroups];
  unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
    const __m512i q = load_line<kPrefetch, kTokens>(line + g * group_bytes);
    low[g] = low_nibbles(q);
    high[g] = high_nibbles_x16(q);
  });
  unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
    const __m512i x_low = x.four(t, i), x_high = x.four(t, i + high_inputs);
    unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
      low_sums[g][t] = _mm512_dpbusd_epi32(low_sums[g][t], low[g], x_low);
      high_sums[g][t] = _mm512_dpbusd_epi32(high_sums[g][t], high[g], x_high);
    });
  });
}

// Group `row`'s units of W (kUnitBytes each) into the panel. A unit's quants are kChunks chunks of
// kLines lines; line s of chunk c gives its low nibbles to the unit's panel line 2 kLines c + s
// and its high ones, shifted down, to line 2 kLines c + kLines + s (panel lines run 8 per
// activation block). extra(unit, b0) then writes the unit's extra bytes, b0 its first block.
template <int64_t kUnitBytes, int kChunks, int kLines, class Extra>
void unpack_nibbles(const MatmulOperands& args, int64_t row, QuantPanel& panel, Extra&& extra) {
  constexpr int64_t kUnitBlocks = kChunks * kLines / 4;  // 32 inputs per block, 8 per line
  const int64_t blocks = args.k() / 32;
  const std::byte* unit = args.w.data + row / kQ4UnitRows * (blocks / kUnitBlocks * kUnitBytes);
  std::byte* out = panel.group(row);
  for (int64_t b0 = 0; b0 < blocks; b0 += kUnitBlocks, unit += kUnitBytes) {
    for (int c = 0; c < kChunks; ++c) {
      for (int s = 0; s < kLines; ++s) {
        const __m512i q = _mm512_loadu_si512(line_at(unit + 64 * (kLines * c + s)));
        _mm512_store_si512(out + 64 * (2 * kLines * c + s), low_nibbles(q));
        _mm512_store_si512(out + 64 * (2 * kLines * c + kLines + s), high_nibbles(q));
      }
    }
    out += 512 * kUnitBlocks;
    extra(unit, b0);
  }
}

// Q4_0: per block, the integer sums start at -8 * (the sum of the block's activation quants), the
// quants' bias taken back out (block_offsets holds -128 times that sum), and take 8 vpdpbusd.
struct Q4_0Interleaved {
  static constexpr int kGemvGroups = 4, kGemmGroups = 2, kGemmTokens = 6;
  static constexpr int64_t kPanelExtra = 0;
  static int64_t row_bytes(int64_t k) { return interleaved::panel_row_bytes(k, kPanelExtra); }

  template <int kGroups, int kTokens, bool kPrefetch>
  static void tile(const MatmulOperands& args, const Q8_0Activations& xq, int64_t row, int64_t t0,
                   const TileOutput& out) {
    interleaved::TileSums<kGroups, kTokens> acc;
    interleaved::for_each_block<kQ4_0UnitBlocks, kQ4_0UnitBytes>(
        args, xq, row, t0,
        [&](const std::byte* unit, auto j, int64_t b, int64_t group_bytes,
            const interleaved::TileActivations& x) MAMBA2_ALWAYS_INLINE {
          // Two chains per output: the low nibbles (from the bias's start) and 16 x the high ones.
          __m512i isum[kGroups][kTokens], isum_high[kGroups][kTokens];
          unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
            const __m512i start = _mm512_set1_epi32(x.offset(t, b) / 16);
            unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
              isum[g][t] = start;
              isum_high[g][t] = _mm512_setzero_si512();
            });
          });
          unroll<4>([&](auto s) MAMBA2_ALWAYS_INLINE {
            add_nibble_line<kGroups, kTokens, kPrefetch>(unit + 256 * j + 64 * s, group_bytes, x,
                                                         b * 32 + 4 * s, 16, isum, isum_high);
          });
          unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
            const __m512 dw = halves_at(unit + g * group_bytes + kQ4_0UnitScaleOffset + 32 * j);
            unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
              const __m512 scale = _mm512_mul_ps(dw, _mm512_set1_ps(x.scale(t, b)));
              const __m512i sum = _mm512_add_epi32(isum[g][t], divided_by_16(isum_high[g][t]));
              acc.v[g][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), scale, acc.v[g][t]);
            });
          });
        });
    acc.store(out);
  }

  // Block 2u + j's panel lines: the low nibbles (inputs 4s..) of the unit's lines 4j + s, then
  // their high ones (16 + 4s..).
  static void unpack(const MatmulOperands& args, int64_t row, QuantPanel& panel) {
    unpack_nibbles<kQ4_0UnitBytes, 2, 4>(args, row, panel, [](const std::byte*, int64_t) {});
  }

  // As tile, the quants from the panel: the same integer sums and float operations.
  template <int kGroups, int kTokens>
  static void panel_tile(const MatmulOperands& args, const Q8_0Activations& xq,
                         const QuantPanel& panel, int64_t row, int64_t t0, const TileOutput& out) {
    interleaved::TileSums<kGroups, kTokens> acc;
    interleaved::for_each_block<kQ4_0UnitBlocks, kQ4_0UnitBytes>(
        args, xq, row, t0,
        [&](const std::byte* unit, auto j, int64_t b, int64_t group_bytes,
            const interleaved::TileActivations& x) MAMBA2_ALWAYS_INLINE {
          interleaved::add_byte_block(
              x, b, [&](auto t) MAMBA2_ALWAYS_INLINE { return x.offset(t, b) / 16; },
              [&](auto g, auto s) MAMBA2_ALWAYS_INLINE {
                return _mm512_load_si512(panel.line(row + kQ4UnitRows * g, b, s));
              },
              [&](auto g) MAMBA2_ALWAYS_INLINE {
                return halves_at(unit + g * group_bytes + kQ4_0UnitScaleOffset + 32 * j);
              },
              acc);
        });
    acc.store(out);
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
// in 16 vpdpbusd; the quants carry no bias (their minimums are a float sum of their own). Its
// panel (GEMM) holds each block's scales d * sc and minimums dmin * m as floats, unpacked once per
// cache tile; the minimums' sums take a pass of their own there, as in the tile they would hold
// as many registers as the float sums and leave room for three tokens instead of six.
struct Q4_KInterleaved {
  static constexpr int kGemvGroups = 4, kGemmGroups = 2, kGemmTokens = 6;
  // The panel's extra bytes per block: its sixteen rows' scales d * sc, then their minimums
  // dmin * m, as floats.
  static constexpr int64_t kPanelExtra = 2 * kQ4UnitRows * sizeof(float);
  static int64_t row_bytes(int64_t k) { return interleaved::panel_row_bytes(k, kPanelExtra); }
  static float* panel_scales(const QuantPanel& panel, int64_t row, int64_t b) {
    return reinterpret_cast<float*>(panel.extra_at(row, b));
  }
  static float* panel_minimums(const QuantPanel& panel, int64_t row, int64_t b) {
    return panel_scales(panel, row, b) + kQ4UnitRows;
  }

  // A panel tile's minimums, block after block: mins = fma(dmin * m_b, sum(q_x) * d_x, mins).
  template <int kGroups, int kTokens>
  static void add_minimums(const MatmulOperands& args, const Q8_0Activations& xq,
                           const QuantPanel& panel, int64_t row, int64_t t0,
                           interleaved::TileSums<kGroups, kTokens>& mins) {
    interleaved::for_each_block<8, kQ4_KUnitBytes>(
        args, xq, row, t0,
        [&](const std::byte*, auto, int64_t b, int64_t, const interleaved::TileActivations& x)
            MAMBA2_ALWAYS_INLINE {
              unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
                const __m512 dm = _mm512_load_ps(panel_minimums(panel, row + kQ4UnitRows * g, b));
                unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
                  mins.v[g][t] = _mm512_fmadd_ps(dm, _mm512_set1_ps(x.sum(t, b)), mins.v[g][t]);
                });
              });
            });
  }

  template <int kGroups, int kTokens, bool kPrefetch>
  static void tile(const MatmulOperands& args, const Q8_0Activations& xq, int64_t row, int64_t t0,
                   const TileOutput& out) {
    interleaved::TileSums<kGroups, kTokens> acc, mins;
    // Units of one super-block: 8 activation blocks of 32.
    interleaved::for_each_unit<8, kQ4_KUnitBytes>(
        args, xq, row, t0,
        [&](const std::byte* unit, int64_t b0, int64_t group_bytes,
            const interleaved::TileActivations& x) MAMBA2_ALWAYS_INLINE {
          unroll<4>([&](auto c) MAMBA2_ALWAYS_INLINE {
            // Sub-blocks 2c (low nibbles) and 2c + 1 (16 x, high ones).
            __m512i isum[kGroups][kTokens], isum_high[kGroups][kTokens];
            unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
              unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
                isum[g][t] = isum_high[g][t] = _mm512_setzero_si512();
              });
            });
            unroll<8>([&](auto s) MAMBA2_ALWAYS_INLINE {
              add_nibble_line<kGroups, kTokens, kPrefetch>(unit + 512 * c + 64 * s, group_bytes, x,
                                                           b0 * 32 + 64 * c + 4 * s, 32, isum,
                                                           isum_high);
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
                  const int64_t b = b0 + sub;
                  const __m512 scale = _mm512_mul_ps(ds, _mm512_set1_ps(x.scale(t, b)));
                  const __m512i sum = h == 0 ? isum[g][t] : divided_by_16(isum_high[g][t]);
                  acc.v[g][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), scale, acc.v[g][t]);
                  mins.v[g][t] = _mm512_fmadd_ps(dm, _mm512_set1_ps(x.sum(t, b)), mins.v[g][t]);
                });
              });
            });
          });
        });
    acc.store(out, &mins);
  }

  // Block 8u + 2c's panel lines: the low nibbles of the unit's lines 8c + s, block 8u + 2c + 1's
  // their high ones; and each block's scales and minimums as floats, unpacked once per unit.
  static void unpack(const MatmulOperands& args, int64_t row, QuantPanel& panel) {
    unpack_nibbles<kQ4_KUnitBytes, 4, 8>(args, row, panel, [&](const std::byte* unit, int64_t b0) {
      const KScales k = unpack_scales(unit);
      const __m512 d = halves_at(unit + kQ4_KUnitDOffset);
      const __m512 dmin = halves_at(unit + kQ4_KUnitDminOffset);
      unroll<8>([&](auto sub) MAMBA2_ALWAYS_INLINE {
        _mm512_store_ps(panel_scales(panel, row, b0 + sub),
                        _mm512_mul_ps(d, byte_of<sub>(k.scales)));
        _mm512_store_ps(panel_minimums(panel, row, b0 + sub),
                        _mm512_mul_ps(dmin, byte_of<sub>(k.mins)));
      });
    });
  }

  // As tile, the quants from the panel: the same integer sums and float operations.
  template <int kGroups, int kTokens>
  static void panel_tile(const MatmulOperands& args, const Q8_0Activations& xq,
                         const QuantPanel& panel, int64_t row, int64_t t0, const TileOutput& out) {
    interleaved::TileSums<kGroups, kTokens> acc;
    interleaved::for_each_block<8, kQ4_KUnitBytes>(
        args, xq, row, t0,
        [&](const std::byte*, auto, int64_t b, int64_t, const interleaved::TileActivations& x)
            MAMBA2_ALWAYS_INLINE {
              interleaved::add_byte_block(
                  x, b, [](auto) MAMBA2_ALWAYS_INLINE { return 0; },
                  [&](auto g, auto s) MAMBA2_ALWAYS_INLINE {
                    return _mm512_load_si512(panel.line(row + kQ4UnitRows * g, b, s));
                  },
                  [&](auto g) MAMBA2_ALWAYS_INLINE {
                    return _mm512_load_ps(panel_scales(panel, row + kQ4UnitRows * g, b));
                  },
                  acc);
            });
    interleaved::TileSums<kGroups, kTokens> mins;
    add_minimums(args, xq, panel, row, t0, mins);
    acc.store(out, &mins);
  }
};

// Q6_K: per chunk c of 128 inputs and half h of its blocks, four ql lines A, B and their qh line
// H give blocks 4c + s (s = 0..3) sixteen inputs each: the low nibbles of A (s = 0) and of B
// (1), the high ones (2, 3), each below its two bits of H (bits 2s, 2s + 1). Each half's sum
// starts at -32 times its activations' sum (the quants' bias) and gets its own scale.
struct Q6_KInterleaved {
  static constexpr int kGemvGroups = 2, kGemmGroups = 2, kGemmTokens = 2;
  static int64_t row_bytes(int64_t k) { return k / 256 * 210; }

  // The four 6-bit quants of a line's lanes (0..63 per byte): nibbles of A or B below bits
  // 2s, 2s + 1 of H moved to bits 4, 5. The 16-bit shifts pull in bits of the neighbouring byte
  // only where the masks clear them.
  template <int s>
  static __m512i six_bits(__m512i a, __m512i b, __m512i h) {
    const __m512i nibbles = s % 2 == 0 ? a : b;
    const __m512i low = s < 2 ? nibbles : _mm512_srli_epi16(nibbles, 4);
    __m512i high;
    if constexpr (s == 0) high = _mm512_slli_epi16(h, 4);
    if constexpr (s == 1) high = _mm512_slli_epi16(h, 2);
    if constexpr (s == 2) high = h;
    if constexpr (s == 3) high = _mm512_srli_epi16(h, 2);
    // (low & 0x0F) | (high & 0x30): imm 0xD8 takes B where C is set, A elsewhere.
    const __m512i high_bits = _mm512_and_si512(high, _mm512_set1_epi8(0x30));
    return _mm512_ternarylogic_epi32(high_bits, low, _mm512_set1_epi8(0x0F), 0xD8);
  }

  // Sub-block `sub`'s signed scales (byte sub % 4 of word sub / 4 of each lane) as floats.
  template <int sub>
  static __m512 scale_of(const std::byte* unit) {
    const __m512i word = _mm512_loadu_si512(line_at(unit + kQ6_KUnitScaleOffset + 64 * (sub / 4)));
    const __m512i byte = _mm512_srai_epi32(_mm512_slli_epi32(word, 24 - 8 * (sub % 4)), 24);
    return _mm512_cvtepi32_ps(byte);
  }

  template <int kGroups, int kTokens, bool kPrefetch>
  static void tile(const MatmulOperands& args, const Q8_0Activations& xq, int64_t row, int64_t t0,
                   const TileOutput& out) {
    interleaved::TileSums<kGroups, kTokens> acc;
    interleaved::for_each_unit<8, kQ6_KUnitBytes>(
        args, xq, row, t0,
        [&](const std::byte* unit, int64_t b0, int64_t group_bytes,
            const interleaved::TileActivations& x) MAMBA2_ALWAYS_INLINE {
          unroll<2>([&](auto c) MAMBA2_ALWAYS_INLINE {
            unroll<2>([&](auto h) MAMBA2_ALWAYS_INLINE {
              __m512i isum[4][kGroups][kTokens];  // blocks 4c + s, half h
              unroll<4>([&](auto s) MAMBA2_ALWAYS_INLINE {
                unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
                  const __m512i start = _mm512_set1_epi32(x.half_offset(t, b0 + 4 * c + s, h) / 4);
                  unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE { isum[s][g][t] = start; });
                });
              });
              unroll<4>([&](auto l) MAMBA2_ALWAYS_INLINE {  // lines of the half
                constexpr int i = 4 * decltype(h)::value + decltype(l)::value;
                __m512i q[4][kGroups];
                unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
                  const std::byte* u = unit + g * group_bytes;
                  const __m512i a = load_line<kPrefetch, kTokens>(u + 64 * (16 * c + i));
                  const __m512i b = load_line<kPrefetch, kTokens>(u + 64 * (16 * c + 8 + i));
                  const __m512i hi =
                      load_line<kPrefetch, kTokens>(u + kQ6_KUnitHighOffset + 64 * (8 * c + i));
                  unroll<4>([&](auto s) MAMBA2_ALWAYS_INLINE {
                    q[s][g] = six_bits<decltype(s)::value>(a, b, hi);
                  });
                });
                unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
                  unroll<4>([&](auto s) MAMBA2_ALWAYS_INLINE {
                    const __m512i four = x.four(t, b0 * 32 + 128 * c + 32 * s + 4 * i);
                    unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
                      isum[s][g][t] = _mm512_dpbusd_epi32(isum[s][g][t], q[s][g], four);
                    });
                  });
                });
              });
              unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
                const std::byte* u = unit + g * group_bytes;
                const __m512 d = halves_at(u + kQ6_KUnitDOffset);
                unroll<4>([&](auto s) MAMBA2_ALWAYS_INLINE {
                  constexpr int sub =
                      2 * (4 * decltype(c)::value + decltype(s)::value) + decltype(h)::value;
                  const __m512 ds = _mm512_mul_ps(d, scale_of<sub>(u));
                  unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
                    const __m512 scale =
                        _mm512_mul_ps(ds, _mm512_set1_ps(x.scale(t, b0 + 4 * c + s)));
                    acc.v[g][t] =
                        _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[s][g][t]), scale, acc.v[g][t]);
                  });
                });
              });
            });
          });
        });
    acc.store(out);
  }
};

}  // namespace

void matmul_avx512vnni_interleaved(const MatmulOperands& args, const Q8_0Activations& xq,
                                   int64_t n_begin, int64_t n_end) {
  switch (args.w.type) {
    case DType::kQ4_0:
      return interleaved::matmul<Q4_0Interleaved>(args, xq, n_begin, n_end);
    case DType::kQ4_K:
      return interleaved::matmul<Q4_KInterleaved>(args, xq, n_begin, n_end);
    default:  // Q6_K (matmul_quant checked the layout's type)
      return interleaved::matmul<Q6_KInterleaved>(args, xq, n_begin, n_end);
  }
}

}  // namespace mamba2::kernels::q4_detail
