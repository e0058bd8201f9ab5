// Projections with weights of a type no integer or bf16 kernel reads (f16, Q4_1, Q5_0, Q5_1,
// Q2_K, Q3_K, IQ4_NL, IQ4_XS): panels of rows dequantized to f32 on the fly, each then a
// projection of its own through matmul_f32. The weights stay in their stored type; only a panel
// is ever widened, on the calling thread. Slower than a kernel that reads the blocks, but exact:
// the result is matmul_f32 of the dequantized weights, whatever the panels.
#pragma once

#include <cstdint>

#include "kernels/matmul.h"
#include "kernels/matmul_operands.h"

namespace mamba2::kernels {

// Rows per panel when the caller does not choose: for the GEMV (decode), a few 4-row tiles that
// stay in L1; for sgemm, the engine's GEMM row tile, capped so that a panel stays about 1 MiB
// (in L2 from widening to use).
int64_t dequant_gemv_panel_rows(int64_t k);
int64_t dequant_panel_rows(int64_t k);

// y rows [n_begin, n_end) of args, args.w of any type convert_row_to_f32 reads (K whole blocks).
void matmul_dequant(const MatmulOperands& args, int64_t n_begin, int64_t n_end, int64_t panel_rows);
inline void matmul_dequant(const MatmulOperands& args, int64_t n_begin, int64_t n_end) {
  const bool gemv = args.tokens() <= kGemvMaxTokens ||
                    args.token_rows == TokenRows::kSeparateSequences;  // matmul_f32's choice
  matmul_dequant(args, n_begin, n_end,
                 gemv ? dequant_gemv_panel_rows(args.k()) : dequant_panel_rows(args.k()));
}

}  // namespace mamba2::kernels
