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
    packed_x = group_b + round_up(tokens * shape.d_state, kPad);
    total = packed_x + round_up(tokens * shape.headdim, kPad);
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
  int64_t packed_x;      // [T, P] x of one head, rows packed, beside S_in^T in copy_buffer
  int64_t total;
};

// How one ssd_chunk_scan head-range call carves its scratch floats: the chunk is cut into
// sub-chunks of `sub` tokens (the last may be shorter), each a chunk of its own for the pieces
// above; the state of the head being scanned is kept transposed, [N, P], between sub-chunks, so
// that it is the streamed operand of both the read-out (C S^T) and the update (B^T (w o X)).
struct SsdScanWorkspaceLayout {
  explicit SsdScanWorkspaceLayout(const SsdShape& shape, int64_t tokens, int64_t sub_chunk)
      : sub(std::clamp<int64_t>(sub_chunk, 1, std::max<int64_t>(tokens, 1))),
        subs((tokens + sub - 1) / sub),
        ld(SsdWorkspaceLayout::round_up(sub, SsdWorkspaceLayout::kPad)) {
    const auto pad = [](int64_t floats) {
      return SsdWorkspaceLayout::round_up(floats, SsdWorkspaceLayout::kPad);
    };
    const int64_t P = shape.headdim, N = shape.d_state;
    cum = 0;
    dt = cum + ld;
    coeff = dt + ld;
    weight = coeff + ld;
    cb = weight + ld;
    decay_matrix = cb + pad(subs * sub * ld);
    transposed_b = decay_matrix + pad(sub * ld);
    x = transposed_b + pad(N * ld);
    weighted_x = x + pad(sub * P);
    state_t = weighted_x + pad(sub * P);
    group_b = state_t + pad(N * P);
    total = group_b + pad(tokens * N);
  }

  int64_t sub;           // tokens per sub-chunk
  int64_t subs;          // sub-chunks in the chunk
  int64_t ld;            // sub padded to a multiple of kPad
  int64_t cum;           // [ld] cumsum of dt * A within the sub-chunk, one head
  int64_t dt;            // [ld] dt of one head in the sub-chunk, zero padded
  int64_t coeff;         // [ld] column decays, then exp(cum)
  int64_t weight;        // [ld] the state weights exp(cum[last] - cum[t]) dt[t]
  int64_t cb;            // [subs, sub, ld] C B^T of each sub-chunk, one group
  int64_t decay_matrix;  // [sub, ld] (C B^T o L o dt) of one head and sub-chunk
  int64_t transposed_b;  // [N, ld] B^T of one sub-chunk, while its C B^T is made
  int64_t x;             // [sub, P] x of one head and sub-chunk, rows packed
  int64_t weighted_x;    // [sub, P] the same rows times the state weights
  int64_t state_t;       // [N, P] the head's state, transposed
  int64_t group_b;       // [T, N] B of one group, rows packed
  int64_t total;
};

struct SsdChunkScanKernel {
  template <class Arch>
  void operator()(Arch, const SsdShape& shape, const SsdChunk& chunk, const float* state_in,
                  float* state_out, float* y, int64_t ld_y, float* workspace, int64_t h_begin,
                  int64_t h_end, int64_t sub_chunk) const;
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
