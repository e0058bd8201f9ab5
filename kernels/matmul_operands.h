// The operands of a projection Y = X W^T (+ bias), whatever W's type: X and Y in f32, W [N, K] in
// its stored type (as checkpoints store it). Every matmul kernel takes them, filled by name:
//   MatmulOperands{.x = {x, tokens, k, ld_x}, .w = {DType::kBF16, w, n, k}, .bias = bias,
//                  .y = {y, tokens, n, ld_y}}
#pragma once

#include <cstdint>

#include "kernels/mat_view.h"

namespace mamba2::kernels {

struct MatmulOperands {
  MatView<const float> x;       // [T, K]
  WeightView w;                 // [N, K]
  const float* bias = nullptr;  // [N] or null
  MatView<float> y;             // [T, N]

  int64_t tokens() const { return x.rows; }  // T
  int64_t k() const { return w.cols; }       // K
  int64_t n() const { return w.rows; }       // N

  // The views name T, K and N twice each; throws Error (from `who`) where they disagree.
  void check_shapes(const char* who) const;
};

}  // namespace mamba2::kernels
