// Compiled with -mamx-tile -mamx-bf16; called only after path_supported(Bf16Path::kAmx).
#include <immintrin.h>

#include "kernels/amx_tiles.h"
#include "kernels/peak_probes.h"

namespace mamba2::kernels {

int64_t amx_probe_bf16(int64_t iterations, float* sink) {
  // Four independent accumulator tiles against operand tiles loaded once: the TDPBF16PS rate.
  alignas(64) static const uint16_t ones[16 * 32] = {};
  alignas(64) float out[16 * 16];
  kernels::amx::configure_tiles();
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  _tile_loadd(4, ones, 64);
  _tile_loadd(5, ones, 64);
  _tile_loadd(6, ones, 64);
  _tile_loadd(7, ones, 64);
  for (int64_t i = 0; i < iterations; ++i) {
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  _tile_stored(0, out, 64);
  _tile_release();
  *sink += out[0];
  return iterations * 4 * (16 * 16 * 32 * 2);
}

}  // namespace mamba2::kernels
