#include <array>

#include "kernels/matmul.h"
#include "kernels/simd.h"

namespace mamba2::kernels {
namespace {

// y[r] = w[r] . x (+ bias[r]) for kRows consecutive rows of W, each K long. Every x batch is
// loaded once for all kRows rows. Each row keeps two accumulators (even and odd batches) so
// enough FMA chains are in flight, then the same hadd and scalar tail: a row's arithmetic is the
// same whether it runs in a group of kRows or alone, so the tiling of rows never changes a bit.
template <class Arch, int kRows>
void gemv_rows(const float* x, const float* w, int64_t k, const float* bias, float* y) {
  using Batch = xsimd::batch<float, Arch>;
  constexpr int64_t kLanes = Batch::size;
  const int64_t pairs_end = k - k % (2 * kLanes);
  const int64_t batches_end = k - k % kLanes;

  std::array<Batch, kRows> even, odd;
  even.fill(Batch(0.0f));
  odd.fill(Batch(0.0f));
  for (int64_t i = 0; i < pairs_end; i += 2 * kLanes) {
    const Batch x0 = Batch::load_unaligned(x + i);
    const Batch x1 = Batch::load_unaligned(x + i + kLanes);
    for (int r = 0; r < kRows; ++r) {
      even[r] = xsimd::fma(Batch::load_unaligned(w + r * k + i), x0, even[r]);
      odd[r] = xsimd::fma(Batch::load_unaligned(w + r * k + i + kLanes), x1, odd[r]);
    }
  }
  if (batches_end > pairs_end) {
    const Batch x0 = Batch::load_unaligned(x + pairs_end);
    for (int r = 0; r < kRows; ++r) {
      even[r] = xsimd::fma(Batch::load_unaligned(w + r * k + pairs_end), x0, even[r]);
    }
  }
  for (int r = 0; r < kRows; ++r) {
    float sum = xsimd::hadd(even[r] + odd[r]);
    for (int64_t i = batches_end; i < k; ++i) sum += w[r * k + i] * x[i];
    y[r] = bias ? sum + bias[r] : sum;
  }
}

}  // namespace

template <class Arch>
void GemvKernel::operator()(Arch, const MatmulArgs& args, int64_t n_begin, int64_t n_end) const {
  constexpr int kRows = 4;
  const int64_t k = args.k;
  auto bias_at = [&](int64_t n) { return args.bias ? args.bias + n : nullptr; };
  int64_t n = n_begin;
  for (; n + kRows <= n_end; n += kRows) {
    gemv_rows<Arch, kRows>(args.x, args.w + n * k, k, bias_at(n), args.y + n);
  }
  for (; n < n_end; ++n) gemv_rows<Arch, 1>(args.x, args.w + n * k, k, bias_at(n), args.y + n);
}

MAMBA2_INSTANTIATE_KERNEL(void GemvKernel::operator(), const MatmulArgs&, int64_t, int64_t);

}  // namespace mamba2::kernels
