#include "kernels/interleave.h"

#include <algorithm>
#include <string>
#include <vector>

#include "kernels/matmul_q4.h"
#include "kernels/matmul_q8_0.h"
#include "mamba2/error.h"

namespace mamba2::kernels {

static_assert(kQ8_0UnitRows == kInterleaveRows && kQ4UnitRows == kInterleaveRows);

WeightLayout interleaved_layout(DType type, int64_t n, int64_t k) {
  if (type == DType::kQ8_0 && q8_0_interleave_supported(n, k)) {
    return WeightLayout::kQ8_0Interleaved16;
  }
  if (q4_interleave_supported(type, n, k)) {
    return type == DType::kQ4_0 ? WeightLayout::kQ4_0Interleaved16
                                : WeightLayout::kQ4_KInterleaved16;
  }
  return WeightLayout::kRows;
}

int64_t interleaved_bytes(WeightLayout layout, DType type, int64_t n, int64_t k) {
  return layout == WeightLayout::kQ8_0Interleaved16 ? q8_0_interleaved_bytes(n, k)
                                                    : q4_interleaved_bytes(type, n, k);
}

void interleave(WeightLayout layout, DType type, const std::byte* rows, int64_t n, int64_t k,
                int64_t n_begin, int64_t n_end, std::byte* out) {
  switch (layout) {
    case WeightLayout::kQ8_0Interleaved16:
      if (type != DType::kQ8_0) break;
      return interleave_q8_0(rows, n, k, n_begin, n_end, out);
    case WeightLayout::kQ4_0Interleaved16:
      if (type != DType::kQ4_0) break;
      return interleave_q4(type, rows, n, k, n_begin, n_end, out);
    case WeightLayout::kQ4_KInterleaved16:
      if (type != DType::kQ4_K) break;
      return interleave_q4(type, rows, n, k, n_begin, n_end, out);
    case WeightLayout::kRows:
    case WeightLayout::kF32Panels16:  // pack_f32_panels (matmul_f32_panels.h) makes these
      break;
  }
  throw Error("interleave", std::string(dtype_name(type)) + " weights have no such layout");
}

bool interleaves_in_place(WeightLayout layout, DType type, int64_t n, int64_t k) {
  const auto row_bytes = dtype_bytes(type, k);
  return layout != WeightLayout::kRows && row_bytes && n > 0 && n % kInterleaveRows == 0 &&
         interleaved_bytes(layout, type, n, k) == n * static_cast<int64_t>(*row_bytes);
}

void interleave_in_place(WeightLayout layout, DType type, std::byte* data, int64_t n, int64_t k,
                         int64_t n_begin, int64_t n_end) {
  if (!interleaves_in_place(layout, type, n, k) || n_begin < 0 || n_end > n ||
      n_begin % kInterleaveRows != 0 || n_end % kInterleaveRows != 0) {
    throw Error("interleave_in_place",
                "rows [" + std::to_string(n_begin) + ", " + std::to_string(n_end) + ") of a [" +
                    std::to_string(n) + ", " + std::to_string(k) + "] " +
                    std::string(dtype_name(type)) + " weight cannot be rearranged in place");
  }
  const int64_t group_bytes = kInterleaveRows * static_cast<int64_t>(*dtype_bytes(type, k));
  std::vector<std::byte> rows(static_cast<size_t>(group_bytes));  // [16, row bytes]
  for (int64_t row = n_begin; row < n_end; row += kInterleaveRows) {
    std::byte* group = data + row / kInterleaveRows * group_bytes;
    std::copy_n(group, group_bytes, rows.data());
    interleave(layout, type, rows.data(), kInterleaveRows, k, 0, kInterleaveRows, group);
  }
}

void deinterleave_row(WeightLayout layout, DType type, const std::byte* data, int64_t n, int64_t k,
                      int64_t row, std::byte* out) {
  if (row < 0 || row >= n || interleaved_layout(type, n, k) != layout) {
    throw Error("deinterleave_row", "row " + std::to_string(row) + " of a [" + std::to_string(n) +
                                        ", " + std::to_string(k) + "] " +
                                        std::string(dtype_name(type)) +
                                        " weight is not in that layout");
  }
  if (layout == WeightLayout::kQ8_0Interleaved16)
    return deinterleave_q8_0_row(data, n, k, row, out);
  deinterleave_q4_row(type, data, n, k, row, out);
}

}  // namespace mamba2::kernels
