// The kWiden bf16 path (see matmul_bf16.h), compiled once per SIMD level.
#include <algorithm>
#include <cstring>

#include "kernels/bf16_row_pieces.h"
#include "kernels/matmul_bf16.h"
#include "kernels/matmul_tiling.h"
#include "kernels/simd.h"
#if defined(__AVX512F__)
#include "kernels/sum_lanes16.h"
#endif
#include "quant/float16.h"

namespace mamba2::kernels {
namespace {

// The first token tile of a call reads each weight from memory (a GEMV or a small batch reads
// it only then): asking for the line this far ahead of each row's loads keeps more misses in
// flight than the hardware prefetcher does for interleaved row streams (130m in_proj GEMV
// streamed from memory, one core: 8.9 -> 11.7 GB/s). Later tiles find the rows in cache. A tile
// of several tokens spends kTokens times longer on each line, so it asks for the next register
// block's rows instead, a whole block ahead (8 tokens, streamed, one core, medians of 5 twice:
// 130m in_proj 1.37-1.43x, out_proj 1.11-1.27x faster).
constexpr int64_t kPrefetchBytes = 512;

template <class Arch>
struct Widen {
  using Floats = xsimd::batch<float, Arch>;
  using Words = xsimd::batch<uint32_t, Arch>;
  static constexpr int64_t kLanes = Floats::size;
  static constexpr int64_t kStep = 2 * kLanes;  // weights per word batch

  // sums[t * kRows + r] = the sum of acc[r][t]'s lanes, in a tree that depends only on the SIMD
  // level (not on kRows or kTokens), so a GEMV and a batch give each output the same bits.
  template <int kRows, int kTokens>
  static void reduce(const Floats (&acc)[kRows][kTokens], float (&sums)[16]) {
    static_assert(kRows * kTokens <= 16);
#if defined(__AVX512F__)
    if constexpr (kLanes == 16) {
      __m512 slots[16];
      for (int i = 0; i < 16; ++i) {
        slots[i] = i < kRows * kTokens ? acc[i % kRows][i / kRows].data : _mm512_setzero_ps();
      }
      _mm512_store_ps(sums, sum_lanes16(slots));
      return;
    }
#endif
    for (int t = 0; t < kTokens; ++t) {
      for (int r = 0; r < kRows; ++r) sums[t * kRows + r] = xsimd::hadd(acc[r][t]);
    }
  }

  // kRows rows from `row` times kTokens tokens from `t0`. Each (row, token) has one accumulator fed
  // the even then the odd products of every step, then reduce() and the scalar tail: a result
  // does not depend on how rows and tokens are grouped.
  // kTiles: W in the AMX tile layout, whose rows are read piece by piece through Bf16RowPieces;
  // rows as stored are read straight along, without the per-piece address arithmetic (which cost
  // the AVX2 decode GEMV 18 %).
  template <int kRows, int kTokens, bool kPrefetch, bool kTiles>
  static void tile(const MatmulOperands& args, const Bf16Activations& xp, int64_t row, int64_t t0) {
    const int64_t k = args.k();
    const int64_t pairs = k / 2;
    const int64_t vector_end = k - k % kStep;
    const Bf16RowPieces pieces(args.w);
    const uint16_t* w[kRows];  // row + r's first piece
    int64_t step[kRows];       // elements from one of its pieces to the next
    unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
      w[r] = pieces.row(row + r);
      step[r] = pieces.step(row + r);
    });
    const auto at = [&](int r, int64_t i) MAMBA2_ALWAYS_INLINE {
      if constexpr (kTiles) return w[r] + i / kBf16TileInputs * step[r] + i % kBf16TileInputs;
      return w[r] + i;
    };
    // W[r][i] of any row r: the next block's rows, for the prefetch.
    const auto element = [&](int64_t r, int64_t i) MAMBA2_ALWAYS_INLINE {
      if constexpr (kTiles) return pieces.row(r) + i / kBf16TileInputs * pieces.step(r);
      return pieces.data + r * k + i;
    };
    const float* x_even = xp.even.data() + t0 * pairs;  // [kTokens, pairs]
    const float* x_odd = xp.odd.data() + t0 * pairs;    // [kTokens, pairs]
    // Indexed only by unroll's constants, so the accumulators stay in registers.
    Floats acc[kRows][kTokens];
    unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
      unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE { acc[r][t] = Floats(0.0f); });
    });
    const Words high_half(0xFFFF0000u);
    for (int64_t i = 0; i < vector_end; i += kStep) {
      Floats even[kRows], odd[kRows];
      unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
        if constexpr (kPrefetch && kTokens > 1) {
          __builtin_prefetch(element(row + r + kRows, i));
        } else if constexpr (kPrefetch) {
          __builtin_prefetch(at(r, i + kPrefetchBytes / 2));
        }
        const Words words = Words::load_unaligned(reinterpret_cast<const uint32_t*>(at(r, i)));
        even[r] = xsimd::bitwise_cast<Floats>(words << 16);
        odd[r] = xsimd::bitwise_cast<Floats>(words & high_half);
      });
      unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
        const Floats xe = Floats::load_unaligned(x_even + t * pairs + i / 2);
        const Floats xo = Floats::load_unaligned(x_odd + t * pairs + i / 2);
        unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
          acc[r][t] = xsimd::fma(even[r], xe, acc[r][t]);
          acc[r][t] = xsimd::fma(odd[r], xo, acc[r][t]);
        });
      });
    }
    alignas(64) float sums[16];
    reduce<kRows, kTokens>(acc, sums);
    unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
      const float* x = args.x.row(t0 + t);
      float* y = args.y.row(t0 + t) + row;
      unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
        float sum = sums[t * kRows + r];
        for (int64_t i = vector_end; i < k; ++i) sum += bf16_to_f32(*at(r, i)) * x[i];
        y[r] = args.bias ? sum + args.bias[row + r] : sum;
      });
    });
  }

  // Rows of W in cache-sized tiles; every token streams past a tile before the next is read.
  // A batch of a few decode tokens (two token groups at most) takes one register block of rows
  // at a time instead: its rows form one contiguous run that the second group finds in L1 while
  // the hardware prefetcher streams on (batch of 8, 130m in_proj from memory: +5-10 %).
  template <int kRows, int kTokens, bool kTiles>
  static void run(const MatmulOperands& args, const Bf16Activations& xp, int64_t n_begin,
                  int64_t n_end) {
    const bool few_tokens = args.tokens() > 1 && args.tokens() <= 2 * kTokens;
    for_each_block<kRows, kTokens>(n_begin, n_end, args.tokens(), 2 * args.k(),
                                   few_tokens ? kRows * 2 * args.k() : kCacheTileBytes,
                                   [&](auto rows, auto count, int64_t row, int64_t t0) {
                                     if (t0 == 0) {
                                       return tile<rows, count, true, kTiles>(args, xp, row, t0);
                                     }
                                     tile<rows, count, false, kTiles>(args, xp, row, t0);
                                   });
  }

#if defined(__AVX512F__)
  // A batch of 2..16 tokens (decode of separate sequences, a short prompt) over whole 16-row
  // groups of the tile layout, where one tile row is one word batch. A register block of a few
  // rows by four tokens over all of K would read a quarter of each 1 KiB tile, widen every
  // weight once per four tokens and leave each group's lines to be fetched in four passes (8
  // tokens, 130m in_proj streamed: 0.86x rows as stored). Here a group is read in spans of
  // kSpanSteps tiles, front to back: the span's rows a few at a time, each row's piece of every
  // tile widened once for up to eight tokens, whose activations the FMAs read from L1. The
  // accumulators wait in memory between spans (a few loads and stores per span and row) and
  // meet in sum_lanes16 at the end, so each output gets the sums, in the order, of the GEMV.
  static constexpr int64_t kSpanSteps = 8;  // 8 KiB of a group's W, and of 8 tokens' x
  static constexpr int kBatchTokens = 8;    // tokens that share a widened piece at most
  static constexpr int64_t kTileElements = kBf16TileRows * kBf16TileInputs;
  // Rows per register block: at most 16 accumulators, and with few tokens enough rows that a
  // block's setup and its activations' loads are paid for several rows (2 tokens, 130m
  // out_proj from cache: one row at a time 0.7x rows as stored).
  template <int kTokens>
  static constexpr int kSpanRows = kTokens <= 2   ? 8
                                   : kTokens <= 4 ? 4
                                                  : 2;

  // Measured faster only where AMX is (Emerald Rapids, 8 sessions: 1.24x the register blocks
  // below). On Zen 5 the register blocks read the tiles as fast as rows as stored, the spans
  // 0.6-0.7x (8 tokens, 130m in_proj and out_proj, one core, cache and memory alike:
  // bench_matmul_quant's BM_Bf16TileBatch runs both on any CPU with AVX-512).
  static bool batch_fits(const MatmulOperands& args, Bf16TileBatch choice) {
    static const bool amx = path_supported(Bf16Path::kAmx);
    const bool spans = choice == Bf16TileBatch::kSpans || (choice == Bf16TileBatch::kAuto && amx);
    return kLanes == kBf16TileInputs / 2 && args.tokens() > 1 &&
           args.tokens() <= kBf16GemmMinTokens && spans;
  }

  // kRows rows' pieces of `steps` tiles from `w` (the first row's piece of the first tile)
  // against kTokens tokens (x_even, x_odd: the first token's pairs of the span, the next token
  // `pairs` on), accumulating into carry[r * kBf16GemmMinTokens + t]. kPrefetch: asks for the
  // line at `ahead` + 64 (r * steps + s) at row r's step s.
  template <int kRows, int kTokens, bool kPrefetch>
  static void span_rows(const uint16_t* w, const float* x_even, const float* x_odd, int64_t pairs,
                        int64_t steps, bool first, Floats* carry, const char* ahead) {
    Floats acc[kRows][kTokens];
    unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
      unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
        acc[r][t] = first ? Floats(0.0f) : carry[r * kBf16GemmMinTokens + t];
      });
    });
    const Words high_half(0xFFFF0000u);
    for (int64_t s = 0; s < steps; ++s) {
      unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
        if constexpr (kPrefetch) __builtin_prefetch(ahead + 64 * (r * steps + s));
        const Words words = Words::load_unaligned(
            reinterpret_cast<const uint32_t*>(w + r * kBf16TileInputs + s * kTileElements));
        const Floats even = xsimd::bitwise_cast<Floats>(words << 16);
        const Floats odd = xsimd::bitwise_cast<Floats>(words & high_half);
        unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
          const float* x = x_even + t * pairs + s * kLanes;
          acc[r][t] = xsimd::fma(even, Floats::load_unaligned(x), acc[r][t]);
          x = x_odd + t * pairs + s * kLanes;
          acc[r][t] = xsimd::fma(odd, Floats::load_unaligned(x), acc[r][t]);
        });
      });
    }
    unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
      unroll<kTokens>([&](auto t)
                          MAMBA2_ALWAYS_INLINE { carry[r * kBf16GemmMinTokens + t] = acc[r][t]; });
    });
  }

  // Rows [r_begin, r_end) of the group from row g, every token of the call (in equal groups of
  // at most kBatchTokens: 12 as 6 + 6, not 8 + 4).
  static void batch_group(const MatmulOperands& args, const Bf16Activations& xp, int64_t g,
                          int64_t r_begin, int64_t r_end) {
    const int64_t k = args.k(), pairs = k / 2, tokens = args.tokens();
    const int64_t tiles = k / kBf16TileInputs;
    const int64_t token_groups = (tokens + kBatchTokens - 1) / kBatchTokens;
    const int64_t group_tokens = (tokens + token_groups - 1) / token_groups;
    const uint16_t* group = args.w.elements<uint16_t>() + g * k;  // [K / 32][16][32]
    const int64_t q_begin = r_begin - g, q_end = r_end - g;       // rows within the group
    Floats carry[kBf16TileRows][kBf16GemmMinTokens];              // [row][token]
    for (int64_t s0 = 0; s0 < tiles; s0 += kSpanSteps) {
      const int64_t steps = std::min(kSpanSteps, tiles - s0);
      const uint16_t* span = group + s0 * kTileElements;
      // The next span's lines (the next group's first after the last), one per row and step:
      // the group is read in address order, which the hardware prefetcher alone does not see.
      const char* ahead = reinterpret_cast<const char*>(span + kSpanSteps * kTileElements);
      for (int64_t t0 = 0; t0 < tokens; t0 += group_tokens) {
        const float* x_even = xp.even.data() + t0 * pairs + s0 * kLanes;
        const float* x_odd = xp.odd.data() + t0 * pairs + s0 * kLanes;
        with_count<kBatchTokens>(std::min(group_tokens, tokens - t0), [&](auto count) {
          const auto block = [&](auto rows, int64_t q) MAMBA2_ALWAYS_INLINE {
            const uint16_t* w = span + q * kBf16TileInputs;
            Floats* c = &carry[q][t0];
            if (t0 == 0) {
              return span_rows<rows, count, true>(w, x_even, x_odd, pairs, steps, s0 == 0, c,
                                                  ahead + 64 * steps * (q - q_begin));
            }
            span_rows<rows, count, false>(w, x_even, x_odd, pairs, steps, s0 == 0, c, nullptr);
          };
          constexpr int kRows = kSpanRows<count>;
          int64_t q = q_begin;
          for (; q + kRows <= q_end; q += kRows) block(std::integral_constant<int, kRows>{}, q);
          for (; q < q_end; ++q) block(std::integral_constant<int, 1>{}, q);
        });
      }
    }
    for (int64_t t = 0; t < tokens; ++t) {
      __m512 slots[16];
      for (int64_t q = 0; q < kBf16TileRows; ++q) {
        slots[q] = q >= q_begin && q < q_end ? carry[q][t].data : _mm512_setzero_ps();
      }
      alignas(64) float sums[16];
      _mm512_store_ps(sums, sum_lanes16(slots));
      float* y = args.y.row(t);
      for (int64_t r = r_begin; r < r_end; ++r) {
        y[r] = args.bias ? sums[r - g] + args.bias[r] : sums[r - g];
      }
    }
  }

  // Rows [n_begin, n_end) of W in the tile layout: the groups (or the parts the range cuts)
  // through batch_group, the rows past them, stored as rows, as run().
  template <int kRows>
  static void run_batch(const MatmulOperands& args, const Bf16Activations& xp, int64_t n_begin,
                        int64_t n_end) {
    const int64_t grouped = args.n() / kBf16TileRows * kBf16TileRows;
    for (int64_t g = n_begin / kBf16TileRows * kBf16TileRows; g < std::min(n_end, grouped);
         g += kBf16TileRows) {
      batch_group(args, xp, g, std::max(n_begin, g), std::min(n_end, g + kBf16TileRows));
    }
    if (n_end > grouped) run<kRows, 4, true>(args, xp, std::max(n_begin, grouped), n_end);
  }
#endif
};

}  // namespace

template <class Arch>
void Bf16WidenKernel::operator()(Arch, const MatmulOperands& args, const Bf16Activations& prepared,
                                 int64_t n_begin, int64_t n_end) const {
  // GEMM: four tokens by as many rows as the registers hold (32 with AVX-512, 16 below). A decode
  // batch of 8 runs as two groups on the same rows. One block of two rows by all eight tokens
  // (each weight widened once, as the f32 GEMV does) measured slower: eight tokens' activations
  // at K 1536 (48 KiB) no longer stay in L1 beside the rows (out_proj from cache 0.65-0.81x, from
  // memory 0.9-1.1x, every shape; Emerald Rapids, one thread, alternating rounds).
  constexpr int kGemmRows = xsimd::batch<float, Arch>::size >= 16 ? 4 : 2;
  // A GEMV over the tile layout takes a whole 16-row group at once (with AVX-512's 32 registers),
  // so it streams each group's tiles front to back; four rows would read a quarter of each tile.
  // A batch of up to 16 tokens reads the groups front to back too (run_batch).
  if (args.w.layout == WeightLayout::kBf16AmxTiles16) {
    if (args.tokens() == 1 && xsimd::batch<float, Arch>::size >= 16) {
      return Widen<Arch>::template run<kBf16TileRows, 1, true>(args, prepared, n_begin, n_end);
    }
    if (args.tokens() == 1) {
      return Widen<Arch>::template run<4, 1, true>(args, prepared, n_begin, n_end);
    }
#if defined(__AVX512F__)
    if (Widen<Arch>::batch_fits(args, tile_batch)) {
      return Widen<Arch>::template run_batch<kGemmRows>(args, prepared, n_begin, n_end);
    }
#endif
    return Widen<Arch>::template run<kGemmRows, 4, true>(args, prepared, n_begin, n_end);
  }
  if (args.tokens() == 1) {
    return Widen<Arch>::template run<4, 1, false>(args, prepared, n_begin, n_end);
  }
  Widen<Arch>::template run<kGemmRows, 4, false>(args, prepared, n_begin, n_end);
}

MAMBA2_INSTANTIATE_KERNEL(void Bf16WidenKernel::operator(), const MatmulOperands&,
                          const Bf16Activations&, int64_t, int64_t);

}  // namespace mamba2::kernels
