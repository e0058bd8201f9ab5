// The decay factor exp(dt * A) of the SSD kernels (included only from *_simd.cpp files), shared
// by the chunk kernels and the decode step so that both flush the same tiny decays to zero.
#pragma once

#include <algorithm>
#include <cmath>
#include <xsimd/xsimd.hpp>

namespace mamba2::kernels {
// Internal linkage: every *_simd.cpp is compiled once per instruction set, and the scalar
// decay_exp must not be merged across them (the linker could keep an AVX-512 copy for all).
namespace {

// Decays below exp(-60) ~ 1e-26 are flushed to zero: they cannot change a float sum of terms
// of order one, and letting them through makes denormals (exp(-88) and below) that slow every
// later multiply by two orders of magnitude on x86 (the long chunks of strongly decaying heads
// hit them all the time).
constexpr float kMinLogDecay = -60.0f;

// exp(log_decay) for log_decay <= 0 (clamped there), flushed to zero below kMinLogDecay.
template <class Arch>
inline xsimd::batch<float, Arch> decay_exp(xsimd::batch<float, Arch> log_decay) {
  using Batch = xsimd::batch<float, Arch>;
  const Batch zero(0.0f);
  const Batch clamped = xsimd::min(log_decay, zero);
  return xsimd::select(clamped > Batch(kMinLogDecay), xsimd::exp(clamped), zero);
}

inline float decay_exp(float log_decay) {
  return log_decay > kMinLogDecay ? std::exp(std::min(log_decay, 0.0f)) : 0.0f;
}

}  // namespace
}  // namespace mamba2::kernels
