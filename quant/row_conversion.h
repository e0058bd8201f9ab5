// Whole rows of any weight type to and from float32: the one place that knows every type's
// element or block encoding (float16.h, q8_0.h, ...), used by loaders, writers and kernels alike.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "mamba2/dtype.h"
#include "mamba2/tensor.h"
#include "quant/dequantize_isa.h"

namespace mamba2 {

// Converts `n` elements of type `type` at `src` to float32. For a block type, `n` must be a whole
// number of blocks (throws Error otherwise). `src` need not be aligned.
// Block types dequantize at `isa` (dequantize_isa.h), the others at the CPU's best.
void convert_row_to_f32(DType type, const std::byte* src, float* dst, int64_t n, DequantIsa isa);
inline void convert_row_to_f32(DType type, const std::byte* src, float* dst, int64_t n) {
  convert_row_to_f32(type, src, dst, n, best_dequant_isa());
}
// Converts `n` floats to type `type` at `dst` (dtype_bytes(type, n) bytes; a block type needs
// whole blocks) with ggml's reference rounding.
void convert_row_from_f32(DType type, const float* src, std::byte* dst, int64_t n);

// Converts `rows` rows of `cols` elements from type `from` at `src` to type `to` at `dst`
// (bytes as dtype_bytes gives them), through float32 a few rows at a time.
void convert_rows(DType from, const std::byte* src, DType to, std::byte* dst, int64_t rows,
                  int64_t cols);
// A whole tensor of `shape` (rows along its last dimension) converted to `to`; a copy when the
// types are equal.
std::vector<std::byte> converted_tensor(DType from, const std::byte* src, DType to,
                                        const TensorShape& shape);

}  // namespace mamba2
