#include "quant/row_conversion.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "mamba2/error.h"
#include "quant/block_quants.h"
#include "quant/float16.h"

namespace mamba2 {
namespace {

uint16_t load_u16(const std::byte* src) {
  uint16_t value;
  std::memcpy(&value, src, sizeof value);
  return value;
}

void store_u16(std::byte* dst, uint16_t value) { std::memcpy(dst, &value, sizeof value); }

// Floats converted per pass of convert_rows: bounds its working memory (~4 MB).
constexpr int64_t kPassElems = int64_t{1} << 20;

}  // namespace

void convert_row_to_f32(DType type, const std::byte* src, float* dst, int64_t n, DequantIsa isa) {
  switch (type) {
    case DType::kF32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::kF16:
      return f16_row_to_f32(src, dst, n);
    case DType::kBF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(load_u16(src + 2 * i));
      return;
    default:
      dequantize_row_at(isa, type, src, dst, n);  // the block types
      return;
  }
}

void convert_row_from_f32(DType type, const float* src, std::byte* dst, int64_t n) {
  switch (type) {
    case DType::kF32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::kF16:
      for (int64_t i = 0; i < n; ++i) store_u16(dst + 2 * i, f32_to_f16(src[i]));
      return;
    case DType::kBF16:
      for (int64_t i = 0; i < n; ++i) store_u16(dst + 2 * i, f32_to_bf16(src[i]));
      return;
    default:
      quantize_row(type, src, dst, n);  // the block types
      return;
  }
}

void convert_rows(DType from, const std::byte* src, DType to, std::byte* dst, int64_t rows,
                  int64_t cols) {
  if (rows <= 0) return;
  const std::optional<uint64_t> in_row = dtype_bytes(from, cols), out_row = dtype_bytes(to, cols);
  if (!in_row || !out_row) {
    throw Error("convert_rows", "rows of " + std::to_string(cols) + " are not whole " +
                                    std::string(dtype_name(in_row ? to : from)) + " blocks");
  }
  const int64_t rows_per_pass =
      std::clamp<int64_t>(kPassElems / std::max<int64_t>(cols, 1), 1, rows);
  std::vector<float> floats(static_cast<size_t>(rows_per_pass * cols));
  for (int64_t r = 0; r < rows; r += rows_per_pass) {
    const int64_t n = std::min(rows_per_pass, rows - r) * cols;
    convert_row_to_f32(from, src + r * *in_row, floats.data(), n);
    convert_row_from_f32(to, floats.data(), dst + r * *out_row, n);
  }
}

std::vector<std::byte> converted_tensor(DType from, const std::byte* src, DType to,
                                        const TensorShape& shape) {
  const int64_t count = shape.numel();
  const int64_t cols = shape.rank > 0 ? shape[shape.rank - 1] : 1;
  const std::optional<uint64_t> bytes = dtype_bytes(to, count);
  if (!bytes) {
    throw Error("converted_tensor", std::to_string(count) + " values are not whole " +
                                        std::string(dtype_name(to)) + " blocks");
  }
  std::vector<std::byte> out(*bytes);
  if (from == to) {
    std::copy(src, src + out.size(), out.begin());
  } else {
    convert_rows(from, src, to, out.data(), cols > 0 ? count / cols : 0, cols);
  }
  return out;
}

}  // namespace mamba2
