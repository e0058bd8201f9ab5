// The kAmx path (see matmul_bf16.h), compiled with -mamx-tile -mamx-bf16 -mavx512f: Y^T = W X^T
// on AMX tiles. W's rows are the A tiles (16 rows by 32 inputs each), read from the tile layout
// prepared at load (matmul_bf16.h) or, as stored, in place or (for calls with many tokens) from a
// per-call copy of the row panel packed tile by tile; the activations,
// already rounded and laid out in pairs by prepare_activations_bf16, are the B tiles (16 pairs of
// inputs by 16 tokens). A C tile is 16 rows by 16 tokens, transposed on its way to y.
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "kernels/aligned_vector.h"
#include "kernels/amx_tiles.h"
#include "kernels/matmul_bf16.h"
#include "kernels/transpose16.h"

namespace mamba2::kernels::bf16_detail {
namespace {

constexpr int64_t kTile = amx::kTileRows;  // rows of W, pairs of inputs or tokens per tile side
constexpr int64_t kTileInputs = 32;        // bf16 inputs per A tile row (64 bytes)
constexpr int64_t kTileElements = kTile * kTileInputs;  // bf16 values per A or B tile
constexpr int64_t kRowBlock = 32;                       // W rows per pass: two A tiles
constexpr int64_t kTokenBlock = 32;                     // tokens per pass: two B tiles
constexpr int64_t kRowPanel = 256;  // W rows whose tiles stay in L2 while tokens go by

// Linux hands out the AMX tile state only on request (arch_prctl ARCH_REQ_XCOMP_PERM for
// XFEATURE_XTILEDATA); without it the first tile instruction faults.
constexpr int kArchReqXcompPerm = 0x1023;
constexpr int kXfeatureXtiledata = 18;

// kAmxPackMinTokens or more tokens: W's panel is first packed as below; fewer read W's rows in
// place (the packing then costs more than it saves: 130m in_proj, 64 tokens 1.2x slower; 256
// tokens 1.1x faster).
constexpr int64_t kAmxPackMinTokens = 192;

// Where a pass reads its A tiles: 2 x 16 rows of 32 inputs per step of K.
struct ATiles {
  const uint16_t* low;   // rows 0-15, inputs 0-31
  const uint16_t* high;  // rows 16-31, inputs 0-31
  int64_t stride;        // bytes from one tile row to the next
  int64_t step;          // elements from one step of K to the next
};

// W rows [panel, panel_end) as A tiles one after another, [row block][step of K][half][16][32]
// (each tile 1 KiB in one piece), with zeros past the rows and past K.
void pack_panel(const MatmulOperands& args, int64_t panel, int64_t panel_end, int64_t padded_k,
                AlignedVector<uint16_t>& out) {
  const int64_t blocks = (panel_end - panel + kRowBlock - 1) / kRowBlock;
  const int64_t steps = padded_k / kTileInputs, k = args.k();
  out.resize(static_cast<size_t>(blocks * kRowBlock * padded_k));
  const uint16_t* w = args.w.elements<uint16_t>();
  for (int64_t r = 0; r < blocks * kRowBlock; ++r) {
    uint16_t* dst = &out[(r / kRowBlock * steps * 2 + r % kRowBlock / kTile) * kTileElements +
                         r % kTile * kTileInputs];  // step 0; step s at + s * 2 * kTileElements
    const int64_t inputs = panel + r < panel_end ? k : 0;
    const uint16_t* src = inputs > 0 ? w + (panel + r) * k : w;
    int64_t s = 0;
    for (; (s + 1) * kTileInputs <= inputs; ++s) {
      _mm512_storeu_si512(dst + s * 2 * kTileElements, _mm512_loadu_si512(src + s * kTileInputs));
    }
    for (; s < steps; ++s) {
      alignas(64) uint16_t tail[kTileInputs] = {};
      const int64_t left = std::max<int64_t>(0, inputs - s * kTileInputs);
      std::memcpy(tail, src + s * kTileInputs, static_cast<size_t>(2 * left));
      _mm512_storeu_si512(dst + s * 2 * kTileElements, _mm512_load_si512(tail));
    }
  }
}

// C tiles 0-3 = the A tiles' rows times the B tiles' tokens over padded_k: the B tiles of 16
// tokens from `b`, the next 16 tokens x_group elements on. Without kHigh (a block of one group of
// 16 rows), tiles 2 and 3 stay zero and a.high is not read.
template <bool kHigh = true>
void multiply(const ATiles& a, const uint16_t* b, int64_t x_group, int64_t padded_k) {
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  const uint16_t* low = a.low;
  const uint16_t* high = a.high;
  for (int64_t i = 0; i < padded_k; i += kTileInputs) {
    _tile_loadd(4, low, a.stride);
    if constexpr (kHigh) _tile_loadd(5, high, a.stride);
    _tile_loadd(6, b, amx::kTileBytesPerRow);
    _tile_loadd(7, b + x_group, amx::kTileBytesPerRow);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    if constexpr (kHigh) {
      _tile_dpbf16ps(2, 5, 6);
      _tile_dpbf16ps(3, 5, 7);
    }
    low += a.step;
    if constexpr (kHigh) high += a.step;
    b += kTileElements;
  }
}

// C tiles -> y for the block's rows [row, row + 32) within [lo, hi) and tokens [t0, t0 + tokens).
// Each C tile is [16 rows][16 tokens]; it is transposed in registers so that every token's 16
// rows go to y in one store (masked to the rows kept), with the bias added as sum + bias.
void store_block(const MatmulOperands& args, int64_t row, int64_t lo, int64_t hi, int64_t t0,
                 int64_t tokens) {
  alignas(64) float c[4][kTile][kTile];  // [tile][row][token]
  _tile_stored(0, c[0], 64);
  _tile_stored(1, c[1], 64);
  _tile_stored(2, c[2], 64);
  _tile_stored(3, c[3], 64);
  for (int64_t half = 0; half < 2; ++half) {
    const int64_t r0 = row + half * kTile;
    const int64_t first = std::max<int64_t>(0, lo - r0), end = std::min(kTile, hi - r0);
    if (first >= end) continue;
    const auto mask = static_cast<__mmask16>((uint32_t{1} << end) - (uint32_t{1} << first));
    const __m512 bias = args.bias ? _mm512_maskz_loadu_ps(mask, args.bias + r0) : __m512{};
    for (int64_t j = 0; j < 2 && j * kTile < tokens; ++j) {
      __m512 v[kTile];  // [row][token], then [token][row]
      for (int64_t r = 0; r < kTile; ++r) v[r] = _mm512_load_ps(c[2 * half + j][r]);
      transpose16(v);
      const int64_t count = std::min(kTile, tokens - j * kTile);
      for (int64_t t = 0; t < count; ++t) {
        const __m512 sum = args.bias ? _mm512_add_ps(v[t], bias) : v[t];
        _mm512_mask_storeu_ps(args.y.row(t0 + j * kTile + t) + r0, mask, sum);
      }
    }
  }
}

}  // namespace

bool amx_bf16_usable() {
  static const bool usable = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
    const bool amx_bf16 = (edx & (1u << 22)) != 0, amx_tile = (edx & (1u << 24)) != 0;
    return amx_bf16 && amx_tile &&
           syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
  }();
  return usable;
}

namespace {

// W as stored: rows read in place, or from a per-call copy of each 256-row panel (pack_panel).
void matmul_rows(const MatmulOperands& args, const Bf16Activations& prepared, int64_t n_begin,
                 int64_t n_end) {
  thread_local AlignedVector<uint16_t> packed_panel;  // [kRowPanel, padded_k] as pack_panel()
  const int64_t padded_k = prepared.padded_k;
  const uint16_t* w = args.w.elements<uint16_t>();
  const uint16_t* x = prepared.bf16.data();  // [padded_tokens / 16, padded_k / 2, 16, 2]
  const int64_t x_group = padded_k * kTile;  // elements per 16 tokens
  // Rows in panels of kRowPanel; in a panel, tokens outside and rows inside: a pass stores 128
  // bytes of y to each of its 32 tokens, and the next pass the 128 bytes after them, so each
  // token's row of y is written front to back (a stream the prefetchers follow; with rows outside
  // every store waited for its line: 130m in_proj 1.4x slower). The panel's W rows are read again
  // for every 32 tokens, from L2; packed, each A tile is 1 KiB in one piece (16 lines W's row
  // length apart otherwise).
  for (int64_t panel = n_begin; panel < n_end; panel += kRowPanel) {
    const int64_t panel_end = std::min(n_end, panel + kRowPanel);
    const int64_t padded_end = panel + (panel_end - panel + kRowBlock - 1) / kRowBlock * kRowBlock;
    // W's rows are read in place unless a tile would read past W's last row or into the next
    // row (K not whole tiles), or there are tokens enough to pay for packing them.
    const bool packed =
        args.tokens() >= kAmxPackMinTokens || padded_end > args.n() || args.k() % kTileInputs != 0;
    if (packed) pack_panel(args, panel, panel_end, padded_k, packed_panel);
    for (int64_t t0 = 0; t0 < args.tokens(); t0 += kTokenBlock) {
      const int64_t tokens = std::min(kTokenBlock, args.tokens() - t0);
      const uint16_t* b_first = x + t0 / kTile * x_group;  // B tiles of tokens t0.., t0 + 16..
      for (int64_t row = panel; row < panel_end; row += kRowBlock) {
        const uint16_t* low =
            packed ? packed_panel.data() + (row - panel) * padded_k : w + row * args.k();
        const ATiles a =
            packed ? ATiles{low, low + kTileElements, amx::kTileBytesPerRow, 2 * kTileElements}
                   : ATiles{low, low + kTile * args.k(), 2 * args.k(), kTileInputs};
        multiply(a, b_first, x_group, padded_k);
        store_block(args, row, row, std::min(row + kRowBlock, panel_end), t0, tokens);
      }
    }
  }
}

// W's rows [n_begin, n_end) within its 16-row groups in the tile layout (matmul_bf16.h): each
// group's tiles follow each other, so a pass reads its two groups' tiles where they are.
void matmul_tiles(const MatmulOperands& args, const Bf16Activations& prepared, int64_t n_begin,
                  int64_t n_end) {
  const int64_t padded_k = prepared.padded_k, k = args.k();
  const uint16_t* w = args.w.elements<uint16_t>();
  const uint16_t* x = prepared.bf16.data();  // [padded_tokens / 16, padded_k / 2, 16, 2]
  const int64_t x_group = padded_k * kTile;  // elements per 16 tokens
  // As matmul_rows: panels of rows, tokens outside, row blocks inside; a block starts on a group.
  for (int64_t panel = n_begin / kTile * kTile; panel < n_end; panel += kRowPanel) {
    const int64_t panel_end = std::min(n_end, panel + kRowPanel);
    for (int64_t t0 = 0; t0 < args.tokens(); t0 += kTokenBlock) {
      const int64_t tokens = std::min(kTokenBlock, args.tokens() - t0);
      const uint16_t* b_first = x + t0 / kTile * x_group;  // B tiles of tokens t0.., t0 + 16..
      for (int64_t row = panel; row < panel_end; row += kRowBlock) {
        // Group row / 16 starts at row * k; a block with one group left multiplies only it.
        const uint16_t* low = w + row * k;
        const ATiles a{low, low + kTile * k, amx::kTileBytesPerRow, kTileElements};
        if (row + kTile < panel_end) {
          multiply(a, b_first, x_group, padded_k);
        } else {
          multiply<false>(a, b_first, x_group, padded_k);
        }
        store_block(args, row, std::max(row, n_begin), std::min(row + kRowBlock, panel_end), t0,
                    tokens);
      }
    }
  }
}

}  // namespace

void matmul_amx(const MatmulOperands& args, const Bf16Activations& prepared, int64_t n_begin,
                int64_t n_end) {
  // Tiles 0-3: C (rows half i, tokens half j) = tile 2i + j; 4, 5: A halves; 6, 7: B halves.
  amx::configure_tiles();
  if (args.w.layout != WeightLayout::kBf16AmxTiles16) {
    matmul_rows(args, prepared, n_begin, n_end);
    _tile_release();
    return;
  }
  const int64_t grouped = args.n() / kTile * kTile;
  if (n_begin < grouped) matmul_tiles(args, prepared, n_begin, std::min(n_end, grouped));
  if (n_end > grouped) {
    // The rows past the groups, stored as rows after them: W [n - grouped, K] into Y's
    // columns from `grouped`.
    MatmulOperands tail = args;
    tail.w = {DType::kBF16, args.w.data + grouped * 2 * args.k(), args.n() - grouped, args.k()};
    tail.bias = args.bias ? args.bias + grouped : nullptr;
    tail.y = {args.y.data + grouped, args.y.rows, args.n() - grouped, args.y.stride};
    matmul_rows(tail, prepared, std::max(n_begin, grouped) - grouped, n_end - grouped);
  }
  _tile_release();
}

}  // namespace mamba2::kernels::bf16_detail
