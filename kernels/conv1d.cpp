#include "kernels/conv1d.h"

#include <cmath>

#include "kernels/simd.h"

namespace mamba2::kernels {

void conv1d_silu(const Conv1dArgs& args, int64_t c_begin, int64_t c_end) {
  if (c_begin >= c_end || args.tokens <= 0) return;
  dispatch(Conv1dKernel{}, args, c_begin, c_end);
}

namespace ref {

void conv1d_silu(const Conv1dArgs& args, int64_t c_begin, int64_t c_end) {
  const int64_t channels = args.channels;
  const int64_t history = args.d_conv - 1;
  for (int64_t c = c_begin; c < c_end; ++c) {
    // Entry j of the sequence [state rows 0..history-1, inputs 0..T-1] for this channel.
    auto entry = [&](int64_t j) {
      return j < history ? args.state[j * channels + c] : args.in[(j - history) * args.ld_in + c];
    };
    for (int64_t t = 0; t < args.tokens; ++t) {
      float acc = args.bias ? args.bias[c] : 0.0f;
      for (int64_t k = 0; k < args.d_conv; ++k) acc += args.weight[k * channels + c] * entry(t + k);
      args.out[t * args.ld_out + c] = acc / (1.0f + std::exp(-acc));
    }
    // The new state is entries T..T+history-1. Entry T+k lies at or after the state row k being
    // written (T >= 1), so rising k never reads a row it has already overwritten.
    for (int64_t k = 0; k < history; ++k) args.state[k * channels + c] = entry(args.tokens + k);
  }
}

}  // namespace ref
}  // namespace mamba2::kernels
