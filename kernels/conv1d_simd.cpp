#include <array>
#include <cstring>

#include "kernels/conv1d.h"
#include "kernels/simd.h"
#include "kernels/simd_strip.h"

namespace mamba2::kernels {
namespace {

// Token after token, each over every channel of the range: rows are read in memory order (a
// strip of channels walked down all T rows touched one line per row and page, and ran 2-4x
// slower). The kTaps inputs of token t are entries t..t+kTaps-1 of [state rows, input rows],
// re-read from L1; each output sums them in tap order, as the reference does.
template <class Arch, int kTaps>
void convolve_channels(const Conv1dArgs& args, int64_t c_begin, int64_t c_end) {
  using Batch = xsimd::batch<float, Arch>;
  constexpr int kHistory = kTaps - 1;
  const int64_t channels = args.channels;
  auto entry = [&](int64_t j) -> const float* {
    return j < kHistory ? args.state + j * channels : args.in + (j - kHistory) * args.ld_in;
  };
  for (int64_t t = 0; t < args.tokens; ++t) {
    std::array<const float*, kTaps> rows;
    for (int k = 0; k < kTaps; ++k) rows[k] = entry(t + k);
    float* out = args.out + t * args.ld_out;
    for_each_strip<Batch>(c_end - c_begin, [&](const auto& strip, int64_t i) {
      const int64_t c = c_begin + i;
      Batch acc = args.bias ? strip.load(args.bias + c) : Batch(0.0f);
      for (int k = 0; k < kTaps; ++k) {
        acc = xsimd::fma(strip.load(args.weight + k * channels + c), strip.load(rows[k] + c), acc);
      }
      strip.store(silu(acc), out + c);
    });
  }
  // The new state is entries T..T+kHistory-1. Entry T+k lies at or after the state row k being
  // written (T >= 1), so rising k never reads a row it has already overwritten.
  for (int k = 0; k < kHistory; ++k) {
    std::memmove(args.state + k * channels + c_begin, entry(args.tokens + k) + c_begin,
                 sizeof(float) * (c_end - c_begin));
  }
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
