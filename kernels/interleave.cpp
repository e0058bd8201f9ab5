#include "kernels/interleave.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/matmul_bf16.h"
#include "kernels/matmul_q4.h"
#include "kernels/matmul_q8_0.h"
#include "mamba2/error.h"

namespace mamba2::kernels {
namespace {

static_assert(kQ8_0UnitRows == kInterleaveRows && kQ4UnitRows == kInterleaveRows &&
              kBf16TileRows == kInterleaveRows);

int64_t row_bytes(DType type, int64_t k) { return static_cast<int64_t>(*dtype_bytes(type, k)); }

// Refuses rows [n_begin, n_end) of W [n, k] unless `fits` and the range starts on a 16-row group
// and ends on one or at N.
void check_rows(const char* where, bool fits, DType type, int64_t n, int64_t k, int64_t n_begin,
                int64_t n_end) {
  if (fits && n_begin >= 0 && n_begin <= n_end && n_end <= n && n_begin % kInterleaveRows == 0 &&
      (n_end % kInterleaveRows == 0 || n_end == n)) {
    return;
  }
  throw Error(where, "rows [" + std::to_string(n_begin) + ", " + std::to_string(n_end) +
                         ") of a [" + std::to_string(n) + ", " + std::to_string(k) + "] " +
                         std::string(dtype_name(type)) + " weight do not fit its 16-row groups");
}

// Bytes of the whole groups of `layout` (n a multiple of 16), which hold exactly their rows'
// stored bytes.
int64_t group_bytes(WeightLayout layout, DType type, int64_t n, int64_t k) {
  switch (layout) {
    case WeightLayout::kQ8_0Interleaved16:
      return q8_0_interleaved_bytes(n, k);
    case WeightLayout::kQ4_0Interleaved16:
    case WeightLayout::kQ4_KInterleaved16:
    case WeightLayout::kQ6_KInterleaved16:
      return q4_interleaved_bytes(type, n, k);
    case WeightLayout::kBf16AmxTiles16:
      if (type != DType::kBF16) break;
      return 2 * n * k;
    case WeightLayout::kRows:
    case WeightLayout::kF32Panels16:  // f32_panels_floats (matmul_f32_panels.h) sizes these
      break;
  }
  throw Error("interleaved_bytes", std::string(dtype_name(type)) + " weights have no such layout");
}

// Rows [n_begin, n_end) of the whole groups (n a multiple of 16) into `layout`.
void interleave_groups(WeightLayout layout, DType type, const std::byte* rows, int64_t n, int64_t k,
                       int64_t n_begin, int64_t n_end, std::byte* out) {
  switch (layout) {
    case WeightLayout::kQ8_0Interleaved16:
      if (type != DType::kQ8_0) break;
      return interleave_q8_0(rows, n, k, n_begin, n_end, out);
    case WeightLayout::kQ4_0Interleaved16:
    case WeightLayout::kQ4_KInterleaved16:
    case WeightLayout::kQ6_KInterleaved16:
      if (type != q4_layout_type(layout)) break;
      return interleave_q4(type, rows, n, k, n_begin, n_end, out);
    case WeightLayout::kBf16AmxTiles16:
      if (type != DType::kBF16) break;
      return interleave_bf16_tiles(rows, n, k, n_begin, n_end, out);
    case WeightLayout::kRows:
    case WeightLayout::kF32Panels16:  // pack_f32_panels (matmul_f32_panels.h) makes these
      break;
  }
  throw Error("interleave", std::string(dtype_name(type)) + " weights have no such layout");
}

}  // namespace

int64_t interleaved_rows(int64_t n) { return n / kInterleaveRows * kInterleaveRows; }

WeightLayout interleaved_layout(DType type, int64_t n, int64_t k) {
  if (interleaved_rows(n) == 0) return WeightLayout::kRows;
  if (type == DType::kQ8_0 && q8_0_interleave_supported(n, k)) {
    return WeightLayout::kQ8_0Interleaved16;
  }
  if (type == DType::kBF16) {
    return bf16_tiles_supported(n, k) ? WeightLayout::kBf16AmxTiles16 : WeightLayout::kRows;
  }
  return q4_interleave_supported(type, n, k) ? q4_layout(type) : WeightLayout::kRows;
}

int64_t interleaved_bytes(WeightLayout layout, DType type, int64_t n, int64_t k) {
  const int64_t grouped = interleaved_rows(n);
  return group_bytes(layout, type, grouped, k) + (n - grouped) * row_bytes(type, k);
}

int64_t interleaved_unit_inputs(WeightLayout layout) {
  switch (layout) {
    case WeightLayout::kQ8_0Interleaved16:
      return kQ8_0UnitInputs;
    case WeightLayout::kQ4_0Interleaved16:
    case WeightLayout::kQ4_KInterleaved16:
    case WeightLayout::kQ6_KInterleaved16:
      return q4_unit_inputs(q4_layout_type(layout));
    case WeightLayout::kBf16AmxTiles16:
      return kBf16TileInputs;
    case WeightLayout::kRows:
    case WeightLayout::kF32Panels16:
      break;
  }
  throw Error("interleaved_unit_inputs", "not an interleaved layout");
}

void interleave(WeightLayout layout, DType type, const std::byte* rows, int64_t n, int64_t k,
                int64_t n_begin, int64_t n_end, std::byte* out) {
  check_rows("interleave", dtype_bytes(type, k) && k % interleaved_unit_inputs(layout) == 0, type,
             n, k, n_begin, n_end);
  const int64_t grouped = interleaved_rows(n);
  if (n_begin < grouped) {
    interleave_groups(layout, type, rows, grouped, k, n_begin, std::min(n_end, grouped), out);
  }
  // The rows past the last whole group follow the groups as stored.
  const int64_t bytes = row_bytes(type, k);
  for (int64_t r = std::max(n_begin, grouped); r < n_end; ++r) {
    std::memcpy(out + r * bytes, rows + r * bytes, bytes);
  }
}

bool interleaves_by_copy(WeightLayout layout) {
  return layout != WeightLayout::kRows && layout != WeightLayout::kBf16AmxTiles16;
}

bool interleaves_in_place(WeightLayout layout, DType type, int64_t n, int64_t k) {
  return layout != WeightLayout::kRows && dtype_bytes(type, k) && n > 0 &&
         interleaved_bytes(layout, type, n, k) == n * row_bytes(type, k);
}

void interleave_in_place(WeightLayout layout, DType type, std::byte* data, int64_t n, int64_t k,
                         int64_t n_begin, int64_t n_end) {
  check_rows("interleave_in_place", interleaves_in_place(layout, type, n, k), type, n, k, n_begin,
             n_end);
  // The rows past the last whole group are already where the layout keeps them.
  const int64_t group_bytes = kInterleaveRows * row_bytes(type, k);
  std::vector<std::byte> rows(static_cast<size_t>(group_bytes));  // [16, row bytes]
  for (int64_t row = n_begin; row + kInterleaveRows <= n_end; row += kInterleaveRows) {
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
  const int64_t grouped = interleaved_rows(n);
  if (row >= grouped) {
    const int64_t bytes = row_bytes(type, k);
    std::memcpy(out, data + row * bytes, bytes);
    return;
  }
  if (layout == WeightLayout::kQ8_0Interleaved16) return deinterleave_q8_0_row(data, k, row, out);
  if (layout == WeightLayout::kBf16AmxTiles16)
    return deinterleave_bf16_tiles_row(data, k, row, out);
  deinterleave_q4_row(type, data, k, row, out);
}

}  // namespace mamba2::kernels
