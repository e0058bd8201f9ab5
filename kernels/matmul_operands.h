// The operands of a projection Y = X W^T (+ bias), whatever W's type: X and Y in f32, W [N, K] in
// its stored type (as checkpoints store it). Every matmul kernel takes them, filled by name:
//   MatmulOperands{.x = {x, tokens, k, ld_x}, .w = {DType::kBF16, w, n, k}, .bias = bias,
//                  .y = {y, tokens, n, ld_y}}
#pragma once

#include <cstdint>

#include "kernels/mat_view.h"

namespace mamba2::kernels {

// What the rows of X are. Consecutive tokens of one sequence (prefill) may take any path, the
// fastest for their count, each summing in its own order. Separate sequences (a batched decode
// step) take only paths where a row's result does not depend on the other rows, so each
// sequence gets the bits it gets decoding alone: our GEMV/GEMM tiles, never sgemm or AMX.
enum class TokenRows { kOneSequence, kSeparateSequences };

struct MatmulOperands {
  MatView<const float> x;       // [T, K]
  WeightView w;                 // [N, K]
  const float* bias = nullptr;  // [N] or null
  MatView<float> y;             // [T, N]
  TokenRows token_rows = TokenRows::kOneSequence;

  int64_t tokens() const { return x.rows; }  // T
  int64_t k() const { return w.cols; }       // K
  int64_t n() const { return w.rows; }       // N

  // The views name T, K and N twice each; throws Error (from `who`) where they disagree.
  void check_shapes(const char* who) const;
};

}  // namespace mamba2::kernels
