// The kSgemm bf16 path (see matmul_bf16.h): panels of rows widened to f32, then matmul_f32.
#include "kernels/matmul_bf16.h"
#include "kernels/matmul_dequant.h"

namespace mamba2::kernels::bf16_detail {

void matmul_sgemm(const MatmulOperands& args, int64_t n_begin, int64_t n_end) {
  // Rows per panel: the engine's GEMM row tile, so sgemm blocks over all of it (64 rows: -8%),
  // and 1 MiB at K 1024, in L2 from widening to use.
  constexpr int64_t kPanelRows = 256;
  matmul_dequant(args, n_begin, n_end, kPanelRows);
}

}  // namespace mamba2::kernels::bf16_detail
