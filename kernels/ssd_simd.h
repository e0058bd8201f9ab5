// The xsimd functors behind kernels/ssd.h, and the workspace layout they share with the
// dispatcher. Tests and benchmarks call them through dispatch_at to compare instruction sets.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/ssd.h"

namespace mamba2::kernels {

// How one head-range call carves its scratch floats. GEMM operands that are read many times
// are packed contiguously: rows of x and B lie a whole conv row (kilobytes) apart, a stride
// the hardware prefetchers do not follow across pages. Rows of the [T, T] matrices and the
// per-token vectors are padded to `ld` (a multiple of the widest SIMD width) so that the
// vector block holding the diagonal never reads past its row.
struct SsdWorkspaceLayout {
  static constexpr int64_t kPad = 16;  // floats in one AVX-512 register

  explicit SsdWorkspaceLayout(const SsdShape& shape, int64_t tokens) : ld(round_up(tokens, kPad)) {
    const int64_t vector = ld;
    const int64_t square = tokens * ld;
    const int64_t copy =
        std::max({shape.d_state * ld, tokens * shape.headdim, shape.d_state * shape.headdim});
    cum = 0;
    dt = cum + vector;
    coeff = dt + vector;
    cb = coeff + vector;
    decay_matrix = cb + round_up(square, kPad);
    copy_buffer = decay_matrix + round_up(square, kPad);
    group_b = copy_buffer + round_up(copy, kPad);
    total = group_b + round_up(tokens * shape.d_state, kPad);
  }

  static int64_t round_up(int64_t value, int64_t multiple) {
    return (value + multiple - 1) / multiple * multiple;
  }

  int64_t ld;            // padded token count
  int64_t cum;           // [ld] cumulative sum of dt * A within the chunk, one head
  int64_t dt;            // [ld] dt of one head, contiguous, zero padded
  int64_t coeff;         // [ld] exp(cum), the chunk-state weights, or column decays
  int64_t cb;            // [T, ld] C B^T of one group (lower triangle used)
  int64_t decay_matrix;  // [T, ld] (C B^T o L o dt) of one head, zero above the diagonal
  int64_t copy_buffer;   // B^T [N, ld], or S_in^T [N, P], or x or decay-weighted x [T, P]
  int64_t group_b;       // B of one group, rows packed [T, N]
  int64_t total;
};

struct SsdChunkStateKernel {
  template <class Arch>
  void operator()(Arch, const SsdShape& shape, const SsdChunk& chunk, float* state_local,
                  float* decay, float* workspace, int64_t h_begin, int64_t h_end) const;
};

struct SsdChunkOutputKernel {
  template <class Arch>
  void operator()(Arch, const SsdShape& shape, const SsdChunk& chunk, const float* state_in,
                  float* y, int64_t ld_y, float* workspace, int64_t h_begin, int64_t h_end) const;
};

struct SsdStatePassKernel {
  template <class Arch>
  void operator()(Arch, const SsdShape& shape, const float* decay, const float* state_in,
                  const float* state_local, float* state_out, int64_t h_begin, int64_t h_end) const;
};

}  // namespace mamba2::kernels
