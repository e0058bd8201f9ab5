// Run-time choice of the instruction set for SIMD kernels.
//
// A kernel is a functor `struct K { template <class Arch> R operator()(Arch, Args...) const; }`
// whose operator() is defined in a `*_simd.cpp` file; CMake compiles that file once per
// architecture below (cmake/SimdKernels.cmake) with MAMBA2_SIMD_ARCH naming the xsimd arch to
// instantiate. Baseline code calls `dispatch(K{}, args...)`, which runs the best instantiation the
// CPU supports. The scalar reference of each kernel stays beside it, as the fallback's check.
//
// Not xsimd::dispatch, though it would take these out-of-line instantiations: it always runs the
// CPU's best architecture, while the MAMBA2_SIMD cap (benchmarks comparing levels) and
// dispatch_at (tests running every kernel at every level the CPU has) need to choose the level.
#pragma once

#include <span>
#include <utility>
#include <xsimd/xsimd.hpp>

#include "kernels/kernel_path.h"

namespace mamba2::kernels {

enum class SimdLevel { kSse2 = 0, kAvx2 = 1, kAvx512 = 2 };

// sse2, avx2, avx512; supported: whether the CPU can run code of the level (MAMBA2_SIMD aside).
std::span<const PathInfo<SimdLevel>> path_table(SimdLevel);
// The best level this CPU supports, capped by the environment variable MAMBA2_SIMD (a level's
// name), which benchmarks and tests use to compare levels.
SimdLevel simd_level();

template <class Kernel, class... Args>
decltype(auto) dispatch_at(SimdLevel level, const Kernel& kernel, Args&&... args) {
  switch (level) {
    case SimdLevel::kAvx512:
      return kernel(xsimd::avx512bw{}, std::forward<Args>(args)...);
    case SimdLevel::kAvx2:
      return kernel(xsimd::fma3<xsimd::avx2>{}, std::forward<Args>(args)...);
    case SimdLevel::kSse2:
      break;
  }
  return kernel(xsimd::sse2{}, std::forward<Args>(args)...);
}

template <class Kernel, class... Args>
decltype(auto) dispatch(const Kernel& kernel, Args&&... args) {
  return dispatch_at(simd_level(), kernel, std::forward<Args>(args)...);
}

// Declares the instantiation of Kernel::operator() for the architecture this file is being
// compiled for. Use at the end of a *_simd.cpp file:
//   MAMBA2_INSTANTIATE_KERNEL(void RmsNormKernel::operator(), const float*, float*, int64_t);
#define MAMBA2_INSTANTIATE_KERNEL(ret_and_name, ...) \
  template ret_and_name<MAMBA2_SIMD_ARCH>(MAMBA2_SIMD_ARCH, __VA_ARGS__) const

}  // namespace mamba2::kernels
