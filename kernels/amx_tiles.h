// The AMX tile configuration the bf16 kernel and mamba2-bench's AMX probe share (included only by
// files compiled with -mamx-tile, whose code runs after path_supported(Bf16Path::kAmx)).
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace mamba2::kernels::amx {
namespace {  // one definition per including file, each with its own flags

// The layout LDTILECFG reads (palette 1).
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t bytes_per_row[16] = {};
  uint8_t rows[16] = {};
};

constexpr int kTileRows = 16;
constexpr int kTileBytesPerRow = 64;

// Tiles 0-7, each 16 rows of 64 bytes: four f32 accumulators (16 x 16) and four bf16 operands
// (16 x 32, or 16 pairs x 16).
inline void configure_tiles() {
  TileConfig config;
  for (int tile = 0; tile < 8; ++tile) {
    config.bytes_per_row[tile] = kTileBytesPerRow;
    config.rows[tile] = kTileRows;
  }
  _tile_loadconfig(&config);
}

}  // namespace
}  // namespace mamba2::kernels::amx
