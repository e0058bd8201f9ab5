#include <array>
#include <cstring>

#include "kernels/conv1d.h"
#include "kernels/simd.h"

namespace mamba2::kernels {
namespace {

// A strip of `count` channels, a full batch when kFull and a ragged tail otherwise. The tail goes
// through zero-padded copies so every channel sees the same lane arithmetic wherever the tile
// edges fall: that is what makes channel tiling bit-identical to a full call.
template <class Batch, bool kFull>
Batch load_strip(const float* p, int64_t count) {
  if constexpr (kFull) {
    return Batch::load_unaligned(p);
  } else {
    alignas(64) float padded[Batch::size] = {};
    std::memcpy(padded, p, sizeof(float) * count);
    return Batch::load_aligned(padded);
  }
}

template <class Batch, bool kFull>
void store_strip(const Batch& value, float* p, int64_t count) {
  if constexpr (kFull) {
    value.store_unaligned(p);
  } else {
    alignas(64) float padded[Batch::size];
    value.store_aligned(padded);
    std::memcpy(p, padded, sizeof(float) * count);
  }
}

template <class Batch>
Batch silu(const Batch& v) {
  return v / (Batch(1.0f) + xsimd::exp(-v));
}

// Runs all T tokens over one strip of channels. The kTaps-1 previous raw inputs live in registers
// (`window`, oldest first), so each input is read once and the carried state falls out at the
// end, whatever T is relative to d_conv.
template <class Arch, int kTaps, bool kFull>
void convolve_strip(const Conv1dArgs& args, int64_t c, int64_t count) {
  using Batch = xsimd::batch<float, Arch>;
  constexpr int kHistory = kTaps - 1;
  const int64_t channels = args.channels;
  auto load = [count](const float* p) { return load_strip<Batch, kFull>(p, count); };
  auto store = [count](const Batch& v, float* p) { store_strip<Batch, kFull>(v, p, count); };

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
