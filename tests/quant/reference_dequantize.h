// The plainest dequantization of ggml's block types, for tests: one weight at a time, straight
// from the byte offsets of ggml-common.h's block layouts and the formulas of ggml's
// dequantize_row_* (the same products in the same order, so results agree bit for bit). Written
// apart from quant/, to check it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mamba2/dtype.h"

namespace mamba2::testing {

// ggml's block size (weights) and block bytes of a block-quantized type.
struct ReferenceBlock {
  int64_t elems;
  int64_t bytes;
};
ReferenceBlock reference_block(DType type);

// Weight i of a row of `type` starting at `row`.
float reference_weight(DType type, const std::byte* row, int64_t i);

}  // namespace mamba2::testing
