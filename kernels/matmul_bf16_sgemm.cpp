// The kSgemm bf16 path (see matmul_bf16.h): panels of rows widened to f32, then matmul_f32.
#include <algorithm>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/matmul_bf16.h"
#include "quant/row_conversion.h"

namespace mamba2::kernels::bf16_detail {

void matmul_sgemm(const MatmulOperands& args, int64_t n_begin, int64_t n_end) {
  // Rows per panel: the engine's GEMM row tile, so sgemm blocks over all of it (64 rows: -8%),
  // and 1 MiB at K 1024, in L2 from widening to use.
  constexpr int64_t kPanelRows = 256;
  thread_local std::vector<float> panel;  // [rows, K], reused by every call on this thread
  const int64_t k = args.k(), row_bytes = 2 * k;
  for (int64_t r0 = n_begin; r0 < n_end; r0 += kPanelRows) {
    const int64_t rows = std::min(kPanelRows, n_end - r0);
    panel.resize(static_cast<size_t>(rows * k));
    convert_row_to_f32(DType::kBF16, args.w.data + r0 * row_bytes, panel.data(), rows * k);
    // Rows [r0, r0 + rows) of the call, as a projection of their own.
    const MatmulOperands f32{.x = args.x,
                             .w = WeightView::f32(panel.data(), rows, k),
                             .bias = args.bias ? args.bias + r0 : nullptr,
                             .y = {args.y.data + r0, args.tokens(), rows, args.y.stride}};
    matmul_f32(f32, 0, rows);
  }
}

}  // namespace mamba2::kernels::bf16_detail
