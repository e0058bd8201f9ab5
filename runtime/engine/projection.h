// y = W x (+ bias) for the rows of a block: kernels::matmul on the projection's weight type, tiled
// over the weight's rows. Every layer kind's projections and the lm_head go through here.
#pragma once

#include <cstdint>

#include "kernels/matmul_dispatch.h"
#include "mamba2/threading_context.h"
#include "runtime/engine/prepared_weights.h"

namespace mamba2 {

// y [tokens, projection.rows] (row stride ld_y) = projection(x [tokens, projection.cols], row
// stride ld_x); `rows` says whether the tokens are one sequence's or separate sequences' (a
// batched decode step: each row gets the bits it gets alone); `input` holds the activations
// converted for a quantized weight, reused.
void project(const ThreadingContext& threading, const Projection& projection, const float* x,
             int64_t ld_x, float* y, int64_t ld_y, int64_t tokens, kernels::TokenRows rows,
             kernels::MatmulInput& input);

}  // namespace mamba2
