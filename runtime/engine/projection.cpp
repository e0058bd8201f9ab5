#include "runtime/engine/projection.h"

#include "kernels/matmul.h"
#include "runtime/engine/tiles.h"

namespace mamba2 {
namespace {

constexpr int64_t kGemmRowTile = 256;
// Our f32 panel GEMM keeps its Y tile in L2 itself and costs nothing extra per call, so it takes
// half those: 130m's out_proj (768 rows) is then 6 tiles, not 3 that two threads split 2 : 1.
constexpr int64_t kPanelGemmRowTile = 128;

// A decode step's projection (one token, or a batch of up to kGemvMaxTokens sessions) in
// kDecodeTilesPerThread row tiles per thread, each a multiple of 16 rows (the q8_0 interleaved
// unit). Handing out a tile costs TBB about 0.1 us, and a layer runs several projections per token;
// these kernels give every row the same bits whatever its tile, so unlike the other loops the tiles
// may follow the thread count.
constexpr int64_t kDecodeTilesPerThread = 4;

int64_t decode_row_tile(int64_t rows, int threads) {
  const int64_t tiles = kDecodeTilesPerThread * threads;
  return ((rows + tiles - 1) / tiles + 15) / 16 * 16;
}

}  // namespace

void project(const ThreadingContext& threading, const Projection& projection, const float* x,
             int64_t ld_x, float* y, int64_t ld_y, int64_t tokens, kernels::TokenRows rows,
             kernels::MatmulInput& input) {
  const kernels::MatmulOperands args{.x = {x, tokens, projection.cols, ld_x},
                                     .w = {projection.dtype, projection.weight, projection.rows,
                                           projection.cols, projection.layout},
                                     .bias = projection.bias,
                                     .y = {y, tokens, projection.rows, ld_y},
                                     .token_rows = rows};
  // Quantized weights read the activations converted once per call (q8_0 blocks, bf16), by
  // fixed token tiles; every row tile then shares them. The block's buffers are reused.
  input.prepare(args);
  if (projection.dtype != DType::kF32) {
    threading.for_tiles(tokens, kTokenTile,
                        [&](int64_t begin, int64_t end) { input.convert(begin, end); });
  }
  const bool panels = projection.layout == kernels::WeightLayout::kF32Panels16;
  const int64_t tile = tokens <= kernels::kGemvMaxTokens
                           ? decode_row_tile(projection.rows, threading.threads())
                           : (panels ? kPanelGemmRowTile : kGemmRowTile);
  threading.for_tiles(projection.rows, tile,
                      [&](int64_t begin, int64_t end) { kernels::matmul(input, begin, end); });
}

}  // namespace mamba2
