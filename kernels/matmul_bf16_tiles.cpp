// The AMX tile layout of bf16 weights (WeightLayout::kBf16AmxTiles16, see matmul_bf16.h): made
// once at load, in place, and read by the kAmx, kAvx512Bf16, kWiden and reference paths.
#include <cstring>

#include "kernels/matmul_bf16.h"

namespace mamba2::kernels {
namespace {

constexpr int64_t kPieceBytes = kBf16TileInputs * 2;  // one row's 32 inputs: one tile row

}  // namespace

bool bf16_tiles_supported(int64_t n, int64_t k) {
  // Where prompts run on kAmx or kAvx512Bf16, which read the layout as fast as rows (or faster):
  // the decode GEMV then streams each group front to back (130m in_proj from memory, one core,
  // Zen 5: 1.5x rows as stored, whose four interleaved row streams the prefetchers keep less
  // far ahead). Where they run on kSgemm (rows only), rows stay as stored.
  const Bf16Path gemm = bf16_path(kBf16GemmMinTokens);
  return n > 0 && k > 0 && k % kBf16TileInputs == 0 &&
         (gemm == Bf16Path::kAmx || gemm == Bf16Path::kAvx512Bf16);
}

void interleave_bf16_tiles(const std::byte* rows, int64_t /*n*/, int64_t k, int64_t n_begin,
                           int64_t n_end, std::byte* out) {
  for (int64_t r = n_begin; r < n_end; ++r) {
    for (int64_t i = 0; i < k; i += kBf16TileInputs) {
      std::memcpy(out + 2 * bf16_tile_offset(r, i, k), rows + 2 * (r * k + i), kPieceBytes);
    }
  }
}

void deinterleave_bf16_tiles_row(const std::byte* tiles, int64_t k, int64_t row, std::byte* out) {
  for (int64_t i = 0; i < k; i += kBf16TileInputs) {
    std::memcpy(out + 2 * i, tiles + 2 * bf16_tile_offset(row, i, k), kPieceBytes);
  }
}

}  // namespace mamba2::kernels
