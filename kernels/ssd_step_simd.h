// The xsimd functor behind kernels/ssd.h's ssd_step. Tests and benchmarks call it through
// dispatch_at to compare instruction sets.
#pragma once

#include <cstdint>

#include "kernels/ssd.h"

namespace mamba2::kernels {

struct SsdStepKernel {
  template <class Arch>
  void operator()(Arch, const SsdShape& shape, const float* x, const float* B, const float* C,
                  const float* dt, const float* A, const float* D, float* state, float* y,
                  int64_t h_begin, int64_t h_end) const;
};

}  // namespace mamba2::kernels
