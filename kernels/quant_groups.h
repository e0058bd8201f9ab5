// The block types the integer kernels read (matmul_quant.h), seen the way every path computes
// with them: a block of 32 or 256 weights is 1 or 8 groups of 32 signed integer quants, each lane
// of 4 weights with a float scale, and (Q4_K, Q5_K) a float minimum per group:
//   w[i] = scale[i / 4] * q[i] - min
// The scales and minimums are exact products (an f16 times an integer of at most 8 bits), so
// this is the dequantizer's value, and this scalar decoding is the reference the SIMD formats
// (quant_formats_avx.h) must reproduce.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mamba2/dtype.h"

namespace mamba2::kernels {

inline constexpr int kGroupElems = 32;  // inputs per group: one Q8_0 activation block

struct QuantGeometry {
  int64_t block_bytes = 0;  // bytes per block
  int groups = 0;           // groups of 32 per block: 1 or 8
  bool mins = false;        // whether weights subtract a per-group minimum
};

// The geometry of a type has_quant_kernel accepts; groups == 0 for any other type.
QuantGeometry quant_geometry(DType type);

struct QuantGroup {
  int8_t q[kGroupElems];  // signed quants
  float scale[8];         // per lane of 4 weights
  float min = 0.0f;       // subtracted from every weight (0 without minimums)
};

// Group g of the block at `block`, of a type has_quant_kernel accepts.
QuantGroup decode_group(DType type, const std::byte* block, int g);

}  // namespace mamba2::kernels
