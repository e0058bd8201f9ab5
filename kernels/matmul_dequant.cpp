#include "kernels/matmul_dequant.h"

#include <algorithm>
#include <string>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/simd.h"
#include "mamba2/error.h"
#include "quant/dequantize_isa.h"
#include "quant/row_conversion.h"

namespace mamba2::kernels {
namespace {

// The kernels' SIMD level (MAMBA2_SIMD caps it) for the block types' unpacking.
DequantIsa dequant_isa() {
  switch (simd_level()) {
    case SimdLevel::kAvx512:
      return DequantIsa::kAvx512;
    case SimdLevel::kAvx2:
      return DequantIsa::kAvx2;
    case SimdLevel::kSse2:
      break;
  }
  return DequantIsa::kScalar;
}

}  // namespace

int64_t dequant_panel_rows(int64_t k) {
  constexpr int64_t kMaxRows = 256, kMinRows = 16, kPanelBytes = int64_t{1} << 20;
  return std::clamp<int64_t>(kPanelBytes / (4 * std::max<int64_t>(k, 1)), kMinRows, kMaxRows);
}

int64_t dequant_gemv_panel_rows(int64_t k) {
  // Whole 4-row GEMV tiles, ~32 KiB: the panel is read back from L1 while the next one's blocks
  // stream in. A 1 MiB panel instead round-trips through L2 (130m q2_K decode: see the commit).
  constexpr int64_t kTileRows = 4, kPanelBytes = int64_t{32} << 10;
  const int64_t rows = kPanelBytes / (4 * std::max<int64_t>(k, 1));
  return std::max(kTileRows, rows - rows % kTileRows);
}

void matmul_dequant(const MatmulOperands& args, int64_t n_begin, int64_t n_end,
                    int64_t panel_rows) {
  args.check_shapes("matmul_dequant");
  thread_local std::vector<float> panel;  // [rows, K], reused by every call on this thread
  const int64_t k = args.k();
  const auto bytes = dtype_bytes(args.w.type, k);
  if (!bytes || args.w.layout != WeightLayout::kRows) {
    throw Error("matmul_dequant", "K " + std::to_string(k) + " is not whole " +
                                      std::string(dtype_name(args.w.type)) + " rows");
  }
  const auto row_bytes = static_cast<int64_t>(*bytes);
  const DequantIsa isa = dequant_isa();
  for (int64_t r0 = n_begin; r0 < n_end; r0 += panel_rows) {
    const int64_t rows = std::min(panel_rows, n_end - r0);
    panel.resize(static_cast<size_t>(rows * k));
    for (int64_t r = 0; r < rows; ++r) {
      convert_row_to_f32(args.w.type, args.w.data + (r0 + r) * row_bytes, &panel[r * k], k, isa);
    }
    // Rows [r0, r0 + rows) of the call, as a projection of their own.
    const MatmulOperands f32{.x = args.x,
                             .w = WeightView::f32(panel.data(), rows, k),
                             .bias = args.bias ? args.bias + r0 : nullptr,
                             .y = {args.y.data + r0, args.tokens(), rows, args.y.stride},
                             .token_rows = args.token_rows};
    matmul_f32(f32, 0, rows);
  }
}

}  // namespace mamba2::kernels
