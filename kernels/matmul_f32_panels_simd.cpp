#include <algorithm>
#include <type_traits>

#include "kernels/matmul_f32_panels.h"
#include "kernels/matmul_unroll.h"
#include "kernels/simd.h"

namespace mamba2::kernels {
namespace {

// The register block per instruction set: kTokens tokens by kPanels panels (16 columns each) of
// accumulators, plus one broadcast x and the W vectors of one input. AVX-512: 12 x 32 columns,
// 24 of the 32 zmm registers, 24 FMAs per 2 loads of W and 12 broadcasts; AVX2: 6 x 16 in 12 of 16
// ymm; SSE2: 2 x 16 in 8 of 16 xmm.
template <class Arch>
struct Block {
  using Batch = xsimd::batch<float, Arch>;
  static constexpr int kLanes = static_cast<int>(Batch::size);
  static constexpr int kVectorsPerPanel = static_cast<int>(kF32PanelRows) / kLanes;
  static constexpr int kPanels = kLanes >= 16 ? 2 : 1;
  static constexpr int kTokens = kLanes >= 16 ? 12 : (kLanes >= 8 ? 6 : 2);
};

// Inputs per pass over a panel: the W slice of a block, 256 x 32 floats (32 KiB), stays in L1
// while every token group of the call meets it; the tokens' 256 inputs come from L2.
constexpr int64_t kInputBlock = 256;
// Panels per row block: the Y tile that the input blocks accumulate into, 256 rows of every token
// (256 KiB for a 256-token chunk), stays in L2 however many rows the caller asked for.
constexpr int64_t kRowBlockPanels = 16;
// Up to this many tokens a call reads W once and reuses none of it (decode, a small decode
// batch): each panel then runs its whole K in one pass, one long stream per panel instead of a
// 16 KiB piece per input block.
constexpr int64_t kStreamTokens = 8;
// How far ahead such a stream asks for its W lines: the hardware prefetchers stop at each 4 KiB
// page and a 2-core VM's share of DRAM needs more misses in flight than they keep.
constexpr int64_t kPrefetchInputs = 64;  // 4 KiB of each panel

// c[t][j] = sum over i < kc of x[t][i] * w[i][j] (+ c[t][j] where `accumulate`, + bias[j] where
// bias is set), for kCount tokens and kPanelsUsed panels of W starting at `w` (panel_stride floats
// apart, each [kc, 16] from the current input). One FMA per input per lane, in input order, so
// splitting K into blocks that pass c through memory (exact for floats) changes no bit.
// The first `ahead_inputs` inputs' lines of `ahead`, W laid out as `w`, are asked into L2 in step
// with w's: a part of the slice that a later call reads, or w's own lines further on.
template <class Arch, int kCount, int kPanelsUsed>
void block_kernel(const float* x, int64_t ld_x, const float* w, int64_t panel_stride, int64_t kc,
                  float* c, int64_t ld_c, bool accumulate, const float* bias, const float* ahead,
                  int64_t ahead_inputs) {
  using B = Block<Arch>;
  using Batch = typename B::Batch;
  constexpr int kVectors = kPanelsUsed * B::kVectorsPerPanel;
  const auto w_offset = [&](int v) {
    return v / B::kVectorsPerPanel * panel_stride + v % B::kVectorsPerPanel * B::kLanes;
  };
  const auto c_offset = [&](int t, int v) { return t * ld_c + v * B::kLanes; };

  Batch acc[kCount][kVectors];
  unroll<kCount>([&](auto t) MAMBA2_ALWAYS_INLINE {
    unroll<kVectors>([&](auto v) MAMBA2_ALWAYS_INLINE {
      acc[t][v] = accumulate ? Batch::load_unaligned(c + c_offset(t, v)) : Batch(0.0f);
    });
  });
  for (int64_t i = 0; i < kc; ++i) {
    Batch wv[kVectors];
    unroll<kVectors>([&](auto v) MAMBA2_ALWAYS_INLINE {
      // One line of 16 weights per input and panel: ask for each line once.
      if (i < ahead_inputs && v % B::kVectorsPerPanel == 0) {
        __builtin_prefetch(ahead + w_offset(v) + i * kF32PanelRows, 0, 2);
      }
      wv[v] = Batch::load_unaligned(w + w_offset(v) + i * kF32PanelRows);
    });
    unroll<kCount>([&](auto t) MAMBA2_ALWAYS_INLINE {
      const Batch xv(x[t * ld_x + i]);
      unroll<kVectors>([&](auto v)
                           MAMBA2_ALWAYS_INLINE { acc[t][v] = xsimd::fma(xv, wv[v], acc[t][v]); });
    });
  }
  unroll<kCount>([&](auto t) MAMBA2_ALWAYS_INLINE {
    unroll<kVectors>([&](auto v) MAMBA2_ALWAYS_INLINE {
      Batch out = acc[t][v];
      if (bias) out += Batch::load_unaligned(bias + v * B::kLanes);  // column v * kLanes
      out.store_unaligned(c + c_offset(t, v));
    });
  });
}

// Calls f(count, t0) over `tokens` in groups of kTokens, then the rest in groups of 8, 4, 2 and 1
// (count a std::integral_constant). A token's sums do not depend on its group, so five block
// sizes instead of one per remainder only save compile time (ASan + UBSan builds of this file
// took 97 s of CPU with twelve).
template <int kTokens, class F>
MAMBA2_ALWAYS_INLINE inline void for_token_groups(int64_t tokens, F&& f) {
  int64_t t0 = 0;
  for (; t0 + kTokens <= tokens; t0 += kTokens) f(std::integral_constant<int, kTokens>{}, t0);
  unroll<4>([&](auto bit) MAMBA2_ALWAYS_INLINE {
    constexpr int kCount = 8 >> bit;
    if constexpr (kCount < kTokens) {
      if (t0 + kCount <= tokens) {
        f(std::integral_constant<int, kCount>{}, t0);
        t0 += kCount;
      }
    }
  });
}

// Panels [p_begin, p_end), every one inside the call's rows: Y written in place, row block by
// row block and in each input block by input block (the first stores, the others add to what Y
// holds), the bias with the last.
template <class Arch>
void whole_panels(const MatmulOperands& args, int64_t p_begin, int64_t p_end) {
  using B = Block<Arch>;
  const int64_t k = args.k(), tokens = args.tokens();
  const int64_t panel_stride = kF32PanelRows * k;
  const bool stream = tokens <= kStreamTokens;
  const int64_t input_block = stream ? k : kInputBlock;
  const int64_t groups = (tokens + B::kTokens - 1) / B::kTokens;
  const float* panels = args.w.elements<float>();
  const auto slice = [&](int64_t p, int64_t i0) {  // [kc, 16] per panel from panel p, input i0
    return panels + p * panel_stride + i0 * kF32PanelRows;
  };
  for (int64_t b0 = p_begin; b0 < p_end; b0 += kRowBlockPanels) {
    const int64_t b1 = std::min(p_end, b0 + kRowBlockPanels);
    for (int64_t i0 = 0; i0 < k; i0 += input_block) {
      const int64_t kc = std::min(input_block, k - i0);
      const bool accumulate = i0 > 0;
      const bool last = i0 + kc == k;
      for (int64_t p = b0; p < b1; p += B::kPanels) {
        const int64_t used = std::min<int64_t>(B::kPanels, b1 - p);
        const float* w = slice(p, i0);
        const float* bias = last && args.bias ? args.bias + p * kF32PanelRows : nullptr;
        // A stream asks for its own lines ahead. A GEMM's token groups reuse this slice from L1
        // and each asks for its share of the next panels' slice, so no call starts by waiting
        // for W from DRAM, and the requests come no faster than DRAM serves them.
        const float* next = stream                ? w + kPrefetchInputs * kF32PanelRows
                            : p + B::kPanels < b1 ? slice(p + B::kPanels, i0)
                            : !last               ? slice(b0, i0 + kc)
                            : b1 < p_end          ? slice(b1, 0)
                                                  : nullptr;
        const int64_t share = (kc + groups - 1) / groups;  // inputs of `next` per token group
        for_token_groups<B::kTokens>(tokens, [&](auto count, int64_t t0) {
          const float* x = args.x.row(t0) + i0;
          float* c = args.y.row(t0) + p * kF32PanelRows;
          const int64_t first = stream ? 0 : std::min(kc, t0 / B::kTokens * share);
          const float* ahead = next ? next + first * kF32PanelRows : nullptr;
          const int64_t ahead_inputs = !next ? 0 : stream ? kc : std::min(share, kc - first);
          if (used == B::kPanels) {
            block_kernel<Arch, count, B::kPanels>(x, args.x.stride, w, panel_stride, kc, c,
                                                  args.y.stride, accumulate, bias, ahead,
                                                  ahead_inputs);
          } else {
            block_kernel<Arch, count, 1>(x, args.x.stride, w, panel_stride, kc, c, args.y.stride,
                                         accumulate, bias, ahead, ahead_inputs);
          }
        });
      }
    }
  }
}

// Rows [n_begin, n_end) of one panel p, a part of it only (the call's first or last rows, or the
// panel past N): the whole panel into a scratch tile, whole K at once (the same FMAs in the same
// order as whole_panels), then the rows wanted copied out.
template <class Arch>
void part_of_panel(const MatmulOperands& args, int64_t p, int64_t n_begin, int64_t n_end) {
  using B = Block<Arch>;
  const int64_t k = args.k(), tokens = args.tokens();
  const float* w = args.w.elements<float>() + p * kF32PanelRows * k;
  alignas(64) float tile[B::kTokens * kF32PanelRows];  // [kTokens, 16]
  for_token_groups<B::kTokens>(tokens, [&](auto count, int64_t t0) {
    block_kernel<Arch, count, 1>(args.x.row(t0), args.x.stride, w, 0, k, tile, kF32PanelRows, false,
                                 nullptr, nullptr, 0);
    for (int64_t t = 0; t < count; ++t) {
      float* y = args.y.row(t0 + t);
      for (int64_t n = n_begin; n < n_end; ++n) {
        const float sum = tile[t * kF32PanelRows + n - p * kF32PanelRows];
        y[n] = args.bias ? sum + args.bias[n] : sum;
      }
    }
  });
}

}  // namespace

template <class Arch>
void PanelGemmKernel::operator()(Arch, const MatmulOperands& args, int64_t n_begin,
                                 int64_t n_end) const {
  n_end = std::min(n_end, args.n());
  if (n_begin >= n_end || args.tokens() <= 0) return;
  // Panels wholly inside [n_begin, n_end); the rows before and after them are parts of panels.
  const int64_t p_first = (n_begin + kF32PanelRows - 1) / kF32PanelRows;
  const int64_t p_last = n_end / kF32PanelRows;
  if (p_first >= p_last) {
    for (int64_t p = n_begin / kF32PanelRows; p * kF32PanelRows < n_end; ++p) {
      part_of_panel<Arch>(args, p, std::max(n_begin, p * kF32PanelRows),
                          std::min(n_end, (p + 1) * kF32PanelRows));
    }
    return;
  }
  if (n_begin < p_first * kF32PanelRows) {
    part_of_panel<Arch>(args, p_first - 1, n_begin, p_first * kF32PanelRows);
  }
  whole_panels<Arch>(args, p_first, p_last);
  if (n_end > p_last * kF32PanelRows)
    part_of_panel<Arch>(args, p_last, p_last * kF32PanelRows, n_end);
}

MAMBA2_INSTANTIATE_KERNEL(void PanelGemmKernel::operator(), const MatmulOperands&, int64_t,
                          int64_t);

}  // namespace mamba2::kernels
