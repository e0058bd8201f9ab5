// Causal depthwise conv1d + bias + SiLU over xBC, with the carried conv state.
//
// Layouts (token-major so channels vectorise):
//   in      raw inputs, in[t * ld_in + c]                         [T, C] with row stride ld_in
//   state   the d_conv-1 raw inputs before this block, oldest first, state[k * C + c]
//           [d_conv-1, C]; on return it holds the last d_conv-1 raw inputs seen (a block
//           shorter than d_conv-1 keeps the older entries shifted left)
//   weight  weight[k * C + c], tap k = d_conv-1 multiplies the newest input  [d_conv, C]
//           (the checkpoint's [C, 1, d_conv] transposed once at load)
//   bias    [C] or null
//   out     out[t * ld_out + c] = silu(bias[c] + sum_k weight[k][c] * input_{t-(d_conv-1)+k}[c])
// Only channels [c_begin, c_end) are read and written, so callers can tile over channels.
// T = 1 is the decode step.
#pragma once

#include <cstdint>

namespace mamba2::kernels {

struct Conv1dArgs {
  const float* in;
  int64_t ld_in;
  float* state;
  const float* weight;
  const float* bias;
  float* out;
  int64_t ld_out;
  int64_t tokens;    // T >= 1
  int64_t channels;  // C
  int64_t d_conv;    // >= 1
};

void conv1d_silu(const Conv1dArgs& args, int64_t c_begin, int64_t c_end);

namespace ref {
void conv1d_silu(const Conv1dArgs& args, int64_t c_begin, int64_t c_end);
}  // namespace ref

// The xsimd implementation behind conv1d_silu, one instantiation per instruction set
// (conv1d_simd.cpp); tests call it at every level through dispatch_at.
struct Conv1dKernel {
  template <class Arch>
  void operator()(Arch, const Conv1dArgs& args, int64_t c_begin, int64_t c_end) const;
};

}  // namespace mamba2::kernels
