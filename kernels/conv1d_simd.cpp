#include <array>
#include <cstring>

#include "kernels/conv1d.h"
#include "kernels/simd.h"
#include "kernels/simd_strip.h"

namespace mamba2::kernels {
namespace {

// Runs all T tokens over one strip of channels. The kTaps-1 previous raw inputs live in registers
// (`window`, oldest first), so each input is read once and the carried state falls out at the
// end, whatever T is relative to d_conv.
template <class Arch, int kTaps, bool kFull>
void convolve_strip(const Conv1dArgs& args, int64_t c, int64_t count) {
  using Batch = xsimd::batch<float, Arch>;
  constexpr int kHistory = kTaps - 1;
  const int64_t channels = args.channels;
  const Strip<Batch, kFull> strip{count};
  auto load = [&](const float* p) { return strip.load(p); };
  auto store = [&](const Batch& v, float* p) { strip.store(v, p); };

  std::array<Batch, kTaps> weight;  // [d_conv] x lanes
  for (int k = 0; k < kTaps; ++k) weight[k] = load(args.weight + k * channels + c);
  const Batch bias = args.bias ? load(args.bias + c) : Batch(0.0f);
  std::array<Batch, kHistory> window;  // [d_conv-1] x lanes
  for (int k = 0; k < kHistory; ++k) window[k] = load(args.state + k * channels + c);

  const float* in = args.in + c;
  float* out = args.out + c;
  for (int64_t t = 0; t < args.tokens; ++t) {
    const Batch newest = load(in + t * args.ld_in);
    Batch acc = bias;
    for (int k = 0; k < kHistory; ++k) acc = xsimd::fma(weight[k], window[k], acc);
    acc = xsimd::fma(weight[kHistory], newest, acc);
    for (int k = 0; k + 1 < kHistory; ++k) window[k] = window[k + 1];
    if constexpr (kHistory > 0) window[kHistory - 1] = newest;
    store(silu(acc), out + t * args.ld_out);
  }
  for (int k = 0; k < kHistory; ++k) store(window[k], args.state + k * channels + c);
}

template <class Arch, int kTaps>
void convolve_channels(const Conv1dArgs& args, int64_t c_begin, int64_t c_end) {
  constexpr int64_t kLanes = xsimd::batch<float, Arch>::size;
  int64_t c = c_begin;
  for (; c + kLanes <= c_end; c += kLanes) convolve_strip<Arch, kTaps, true>(args, c, kLanes);
  if (c < c_end) convolve_strip<Arch, kTaps, false>(args, c, c_end - c);
}

}  // namespace

template <class Arch>
void Conv1dKernel::operator()(Arch, const Conv1dArgs& args, int64_t c_begin, int64_t c_end) const {
  // The window is unrolled per tap count; released models use d_conv = 4.
  switch (args.d_conv) {
    case 1:
      return convolve_channels<Arch, 1>(args, c_begin, c_end);
    case 2:
      return convolve_channels<Arch, 2>(args, c_begin, c_end);
    case 3:
      return convolve_channels<Arch, 3>(args, c_begin, c_end);
    case 4:
      return convolve_channels<Arch, 4>(args, c_begin, c_end);
    case 5:
      return convolve_channels<Arch, 5>(args, c_begin, c_end);
    case 6:
      return convolve_channels<Arch, 6>(args, c_begin, c_end);
    case 7:
      return convolve_channels<Arch, 7>(args, c_begin, c_end);
    case 8:
      return convolve_channels<Arch, 8>(args, c_begin, c_end);
    default:
      // Wider kernels are not worth registers of their own; the reference handles any width.
      return ref::conv1d_silu(args, c_begin, c_end);
  }
}

MAMBA2_INSTANTIATE_KERNEL(void Conv1dKernel::operator(), const Conv1dArgs&, int64_t, int64_t);

}  // namespace mamba2::kernels
