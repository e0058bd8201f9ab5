// Where a bf16 W's rows are, as stored or in the tile layout (matmul_bf16.h); included only by
// the bf16 kernel files.
#pragma once

#include <cstdint>

#include "kernels/matmul_bf16.h"

namespace mamba2::kernels {

// Row r's inputs [i, i + 32) are at row(r) + i / 32 * step(r) elements, one piece (i % 32 on
// from there). Rows as stored step 32; rows in the tile layout step a whole tile, the rows past
// its groups 32 again.
struct Bf16RowPieces {
  const uint16_t* data;
  int64_t k;
  int64_t grouped;  // rows in the tile layout's groups: 0 for rows as stored

  explicit Bf16RowPieces(const WeightView& w)
      : data(w.elements<uint16_t>()),
        k(w.cols),
        grouped(w.layout == WeightLayout::kBf16AmxTiles16 ? w.rows / kBf16TileRows * kBf16TileRows
                                                          : 0) {}
  const uint16_t* row(int64_t r) const {
    return data + (r < grouped ? bf16_tile_offset(r, 0, k) : r * k);
  }
  int64_t step(int64_t r) const {
    return r < grouped ? kBf16TileRows * kBf16TileInputs : kBf16TileInputs;
  }
};

}  // namespace mamba2::kernels
