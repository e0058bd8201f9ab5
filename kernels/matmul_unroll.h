// unroll<N>(f): f(std::integral_constant<int, 0>{}), ..., f(std::integral_constant<int, N-1>{}).
//
// The register tiles of the matmul kernels index their accumulator arrays only through these
// constants, never through a loop counter: GCC then keeps each accumulator in a register. With
// plain loops (even fully unrolled later) it stores the whole array back to the stack every step.
#pragma once

#include <type_traits>
#include <utility>

namespace mamba2::kernels {

#define MAMBA2_ALWAYS_INLINE __attribute__((always_inline))

template <int N, class F>
MAMBA2_ALWAYS_INLINE inline void unroll(F&& f) {
  [&]<int... I>(std::integer_sequence<int, I...>) MAMBA2_ALWAYS_INLINE {
    (f(std::integral_constant<int, I>{}), ...);
  }
  (std::make_integer_sequence<int, N>{});
}

}  // namespace mamba2::kernels
