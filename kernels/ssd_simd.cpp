// The chunked SSD pieces as small register-blocked GEMMs. Per call and head range:
//   chunk output:  y_h = exp(cum) o (C S_in_h^T) + (C B^T o L_h o dt_h) X_h + D_h X_h
//   chunk state:   S_local_h = (w_h o X_h)^T B,  w_h[t] = exp(cum[T-1] - cum[t]) dt_h[t]
// with cum the within-chunk cumsum of dt * A and L_h[t][s] = exp(cum[t] - cum[s]) for s <= t.
// Every exponent is a difference cum[t] - cum[s] with s <= t (or cum itself), so it is <= 0:
// no exp of a positive number, as upstream's segment sums. Each head only reads its own data
// and the C B^T of its group, which is computed the same way whatever the head range, so tiling
// heads across threads gives bit-identical results.
#include "kernels/ssd_simd.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/simd.h"
#include "kernels/ssd_decay.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace mamba2::kernels {
namespace {

// 0, 1, 2, ...: the column offsets inside one vector, to mask the diagonal block.
alignas(64) constexpr float kIota[SsdWorkspaceLayout::kPad] = {0, 1, 2,  3,  4,  5,  6,  7,
                                                               8, 9, 10, 11, 12, 13, 14, 15};

// What a product does besides C = A B; all off by default.
struct GemmFlags {
  bool accumulate = false;           // C = c_scale C + A B instead of C = A B
  bool a_lower = false;              // A[i][kk] == 0 for kk > i: skip those terms
  bool c_lower = false;              // only C[i][j] for j <= i is needed (more may be written)
  float c_scale = 1.0f;              // see accumulate
  const float* row_scale = nullptr;  // without accumulate: C[i][j] = row_scale[i] (A B)[i][j]
};

struct GemmArgs {
  int64_t m, n, k;
  const float* a;  // A[i][kk] = a[i * a_rs + kk * a_cs]
  int64_t a_rs, a_cs;
  const float* b;  // B[kk][j] = b[kk * ldb + j]
  int64_t ldb;
  float* c;  // C[i][j] = c[i * ldc + j]
  int64_t ldc;
  GemmFlags flags;
  // Optional: a product of the same m x n made first, in the same registers, and scaled by its
  // flags.row_scale: C = diag(row_scale) (A' B') + A B. The chunk scan's read-out of the entering
  // state and its intra-chunk product are one pass over y this way, not a store and a reload.
  const GemmArgs* first = nullptr;
};

// C [m, n] = A [m, k] B [k, n] with A row-major, A[i][kk] = a[i * lda + kk].
inline GemmArgs product(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                        const float* b, int64_t ldb, float* c, int64_t ldc, GemmFlags flags = {}) {
  return {m, n, k, a, lda, 1, b, ldb, c, ldc, flags};
}

// The same with A stored transposed, [k, m]: A[i][kk] = a[kk * lda + i].
inline GemmArgs product_transposed_a(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                                     const float* b, int64_t ldb, float* c, int64_t ldc,
                                     GemmFlags flags = {}) {
  return {m, n, k, a, 1, lda, b, ldb, c, ldc, flags};
}

// acc[r][v] += sum_{kk < k_end} A[i + r][kk] B[kk][j + v * lanes] of `g`'s operands.
// Always inlined with constant block sizes, so that acc lives in registers, never on the stack.
template <class Arch, int kRows, int kVecs>
[[gnu::always_inline]] inline void block_product(xsimd::batch<float, Arch> (&acc)[kRows][kVecs],
                                                 const GemmArgs& g, int64_t i, int64_t j,
                                                 int64_t k_end) {
  using Batch = xsimd::batch<float, Arch>;
  constexpr int64_t kLanes = Batch::size;
  const float* a = g.a + i * g.a_rs;
  const float* b = g.b + j;
  const int64_t a_rs = g.a_rs, a_cs = g.a_cs, ldb = g.ldb;
  for (int64_t kk = 0; kk < k_end; ++kk) {
    Batch bv[kVecs];
    for (int v = 0; v < kVecs; ++v) bv[v] = Batch::load_unaligned(b + kk * ldb + v * kLanes);
    for (int r = 0; r < kRows; ++r) {
      const Batch av(a[r * a_rs + kk * a_cs]);
      for (int v = 0; v < kVecs; ++v) acc[r][v] = xsimd::fma(av, bv[v], acc[r][v]);
    }
  }
}

// C[rows, kVecs vectors] of one register block: kRows x kVecs accumulators, B rows streamed.
template <class Arch, int kRows, int kVecs>
inline void gemm_block(const GemmArgs& g, int64_t i, int64_t j, int64_t k_end) {
  using Batch = xsimd::batch<float, Arch>;
  constexpr int64_t kLanes = Batch::size;
  Batch acc[kRows][kVecs];
  if (g.first) {  // acc = diag(row_scale) (A' B') of the first product
    for (int r = 0; r < kRows; ++r) {
      for (int v = 0; v < kVecs; ++v) acc[r][v] = Batch(0.0f);
    }
    block_product<Arch, kRows, kVecs>(acc, *g.first, i, j, g.first->k);
    for (int r = 0; r < kRows; ++r) {
      const Batch scale(g.first->flags.row_scale[i + r]);
      for (int v = 0; v < kVecs; ++v) acc[r][v] *= scale;
    }
  } else if (g.flags.accumulate) {
    const Batch c_scale(g.flags.c_scale);
    for (int r = 0; r < kRows; ++r) {
      for (int v = 0; v < kVecs; ++v) {
        acc[r][v] = Batch::load_unaligned(g.c + (i + r) * g.ldc + j + v * kLanes) * c_scale;
      }
    }
  } else {
    for (int r = 0; r < kRows; ++r) {
      for (int v = 0; v < kVecs; ++v) acc[r][v] = Batch(0.0f);
    }
  }
  block_product<Arch, kRows, kVecs>(acc, g, i, j, k_end);
  for (int r = 0; r < kRows; ++r) {
    for (int v = 0; v < kVecs; ++v) {
      if (g.flags.row_scale) acc[r][v] *= Batch(g.flags.row_scale[i + r]);
      acc[r][v].store_unaligned(g.c + (i + r) * g.ldc + j + v * kLanes);
    }
  }
}

// The register block: kRows x kWideVecs accumulators, the kWideVecs B vectors of one k and a
// broadcast fit the 16 vector registers of SSE2/AVX2 (6 x 2) and the 32 of AVX-512 (6 x 4,
// which covers a whole headdim-64 row).
template <class Arch>
struct GemmBlocking {
  static constexpr int kRows = 6;
  static constexpr int kWideVecs = xsimd::batch<float, Arch>::size == 16 ? 4 : 2;
};

// Rows [i, i + kRows) of C: wide column blocks, narrower ones, then scalar columns.
template <class Arch, int kRows>
inline void gemm_rows(const GemmArgs& g, int64_t i) {
  constexpr int64_t kLanes = xsimd::batch<float, Arch>::size;
  constexpr int kWide = GemmBlocking<Arch>::kWideVecs;
  const int64_t k_end = g.flags.a_lower ? std::min(g.k, i + kRows) : g.k;
  const int64_t n_end =
      g.flags.c_lower ? std::min(g.n, SsdWorkspaceLayout::round_up(i + kRows, kLanes)) : g.n;
  int64_t j = 0;
  for (; j + kWide * kLanes <= n_end; j += kWide * kLanes) {
    gemm_block<Arch, kRows, kWide>(g, i, j, k_end);
  }
  if constexpr (kWide > 2) {
    for (; j + 2 * kLanes <= n_end; j += 2 * kLanes) gemm_block<Arch, kRows, 2>(g, i, j, k_end);
  }
  for (; j + kLanes <= n_end; j += kLanes) gemm_block<Arch, kRows, 1>(g, i, j, k_end);
  for (; j < n_end; ++j) {
    for (int r = 0; r < kRows; ++r) {
      float sum = g.flags.accumulate ? g.c[(i + r) * g.ldc + j] * g.flags.c_scale : 0.0f;
      if (g.first) {
        const GemmArgs& f = *g.first;
        for (int64_t kk = 0; kk < f.k; ++kk) {
          sum += f.a[(i + r) * f.a_rs + kk * f.a_cs] * f.b[kk * f.ldb + j];
        }
        sum *= f.flags.row_scale[i + r];
      }
      for (int64_t kk = 0; kk < k_end; ++kk) {
        sum += g.a[(i + r) * g.a_rs + kk * g.a_cs] * g.b[kk * g.ldb + j];
      }
      g.c[(i + r) * g.ldc + j] = g.flags.row_scale ? sum * g.flags.row_scale[i + r] : sum;
    }
  }
}

template <class Arch>
void gemm(const GemmArgs& g) {
  constexpr int kRows = GemmBlocking<Arch>::kRows;
  int64_t i = 0;
  for (; i + kRows <= g.m; i += kRows) gemm_rows<Arch, kRows>(g, i);
  // Leftover rows (headdim 64 = 10 x 6 + 4) in blocks still wide enough to reuse B loads.
  for (; i + 4 <= g.m; i += 4) gemm_rows<Arch, 4>(g, i);
  for (; i + 2 <= g.m; i += 2) gemm_rows<Arch, 2>(g, i);
  for (; i < g.m; ++i) gemm_rows<Arch, 1>(g, i);
}

// out[r * cols + c] = in[r * ld_in + c]: rows gathered into one contiguous block.
inline void pack_rows(const float* in, int64_t ld_in, int64_t rows, int64_t cols, float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(out + r * cols, in + r * ld_in, sizeof(float) * static_cast<size_t>(cols));
  }
}

// out[j * ld_out + i] = in[i * ld_in + j] for i < rows, j < cols, by element: in strips of 16
// rows, so each line of `out` is written whole while the strip's rows stay in L1 (column by
// column, every store of a long-strided `out` missed L1).
inline void transpose_scalar(const float* in, int64_t ld_in, int64_t rows, int64_t cols, float* out,
                             int64_t ld_out) {
  constexpr int64_t kStrip = 16;
  for (int64_t i0 = 0; i0 < rows; i0 += kStrip) {
    const int64_t i1 = std::min(rows, i0 + kStrip);
    for (int64_t j = 0; j < cols; ++j) {
      for (int64_t i = i0; i < i1; ++i) out[j * ld_out + i] = in[i * ld_in + j];
    }
  }
}

#if defined(__AVX512F__)
// One 16 x 16 block: four rounds of interleaving row i with row i + 8 (lanes a0 b0 a1 b1 ...
// across the whole register, not per 128-bit quarter as unpacklo) leave row j holding column j.
// 64 two-source permutes for 256 floats, where the element loop takes 512 loads and stores.
inline void transpose16x16(const float* in, int64_t ld_in, float* out, int64_t ld_out) {
  const __m512i low = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i high =
      _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  __m512 rows[16], next[16];
  for (int i = 0; i < 16; ++i) rows[i] = _mm512_loadu_ps(in + i * ld_in);
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 8; ++i) {
      next[2 * i] = _mm512_permutex2var_ps(rows[i], low, rows[i + 8]);
      next[2 * i + 1] = _mm512_permutex2var_ps(rows[i], high, rows[i + 8]);
    }
    for (int i = 0; i < 16; ++i) rows[i] = next[i];
  }
  for (int j = 0; j < 16; ++j) _mm512_storeu_ps(out + j * ld_out, rows[j]);
}
#endif

// out[j * ld_out + i] = in[i * ld_in + j] for i < rows, j < cols (the same bits on every path).
// C B^T's copy of B and the SSD state are transposed once per chunk and head.
inline void transpose(const float* in, int64_t ld_in, int64_t rows, int64_t cols, float* out,
                      int64_t ld_out) {
  int64_t body_rows = 0;
#if defined(__AVX512F__)
  body_rows = rows - rows % 16;
  const int64_t body_cols = cols - cols % 16;
  for (int64_t i = 0; i < body_rows; i += 16) {
    for (int64_t j = 0; j < body_cols; j += 16) {
      transpose16x16(in + i * ld_in + j, ld_in, out + j * ld_out + i, ld_out);
    }
  }
  // The right edge of the block rows, then the bottom rows.
  transpose_scalar(in + body_cols, ld_in, body_rows, cols - body_cols, out + body_cols * ld_out,
                   ld_out);
#endif
  transpose_scalar(in + body_rows * ld_in, ld_in, rows - body_rows, cols, out + body_rows, ld_out);
}

// Per-head scratch vectors: dt contiguous and cum = cumsum(dt * A), both zero padded to ld.
inline void head_decay(const SsdShape& shape, const SsdChunk& chunk, int64_t h, int64_t ld,
                       float* dt, float* cum) {
  float sum = 0.0f;
  for (int64_t t = 0; t < chunk.tokens; ++t) {
    dt[t] = chunk.dt[t * shape.heads + h];
    sum += dt[t] * chunk.A[h];
    cum[t] = sum;
  }
  std::fill(dt + chunk.tokens, dt + ld, 0.0f);
  std::fill(cum + chunk.tokens, cum + ld, 0.0f);
}

// out[i] = decay_exp(log_decay[i]) * (scale ? scale[i] : 1) for i in [0, ld).
template <class Arch>
inline void decay_exp_scaled(const float* log_decay, const float* scale, float* out, int64_t ld) {
  using Batch = xsimd::batch<float, Arch>;
  constexpr int64_t kLanes = Batch::size;
  for (int64_t i = 0; i < ld; i += kLanes) {
    Batch v = decay_exp<Arch>(Batch::load_unaligned(log_decay + i));
    if (scale) v *= Batch::load_unaligned(scale + i);
    v.store_unaligned(out + i);
  }
}

// C B^T of one group into cb [T, ld] (lower triangle, by vector blocks), using copy as B^T.
template <class Arch>
void group_cb(const SsdShape& shape, const SsdChunk& chunk, int64_t g, int64_t ld, float* copy,
              float* cb) {
  const int64_t T = chunk.tokens, N = shape.d_state;
  const float* B = chunk.B + g * N;
  transpose(B, chunk.ld_bc, T, N, copy, ld);  // [N, T]
  gemm<Arch>(product(T, T, N, chunk.C + g * N, chunk.ld_bc, copy, ld, cb, ld, {.c_lower = true}));
}

// decay_matrix[t][s] = cb[t][s] exp(cum[t] - cum[s]) dt[s] for s <= t, 0 for t < s < t + kRows
// (the rest of the row is never read).
// Rows go in blocks of one vector width starting at t0. Left of the block's diagonal tile
// (s < t0 <= t) the decay factors through t0 as exp(cum[t] - cum[t0]) exp(cum[t0] - cum[s]):
// both exponents are <= 0, so this is as stable as the direct form, and it needs one exp per
// row plus one row of column factors per block instead of an exp per element. The product is
// still flushed by the exact exponent, so which entries vanish does not depend on the factoring.
template <class Arch>
void head_decay_matrix(int64_t T, int64_t ld, const float* cb, const float* cum, const float* dt,
                       float* column_decay, float* out) {
  using Batch = xsimd::batch<float, Arch>;
  constexpr int64_t kLanes = Batch::size;
  const Batch zero(0.0f), min_log(kMinLogDecay), iota = Batch::load_unaligned(kIota);
  for (int64_t t0 = 0; t0 < T; t0 += kLanes) {
    // column_decay[s] = exp(cum[t0] - cum[s]) dt[s] for the columns left of the block.
    const Batch cum_t0(cum[t0]);
    for (int64_t s = 0; s < t0; s += kLanes) {
      (decay_exp<Arch>(cum_t0 - Batch::load_unaligned(cum + s)) * Batch::load_unaligned(dt + s))
          .store_unaligned(column_decay + s);
    }
    for (int64_t t = t0; t < std::min(t0 + kLanes, T); ++t) {
      const Batch cum_t(cum[t]), row_decay(decay_exp(cum[t] - cum[t0]));
      const float* cb_t = cb + t * ld;
      float* out_t = out + t * ld;
      for (int64_t s = 0; s < t0; s += kLanes) {
        const Batch segment = cum_t - Batch::load_unaligned(cum + s);
        const Batch v =
            Batch::load_unaligned(cb_t + s) * (row_decay * Batch::load_unaligned(column_decay + s));
        xsimd::select(segment > min_log, v, zero).store_unaligned(out_t + s);
      }
      // The diagonal tile, directly; s > t there (cb may be unset: select, not *).
      const Batch segment = cum_t - Batch::load_unaligned(cum + t0);
      const Batch v = Batch::load_unaligned(cb_t + t0) * decay_exp<Arch>(segment) *
                      Batch::load_unaligned(dt + t0);
      const auto causal = iota + Batch(static_cast<float>(t0)) <= Batch(static_cast<float>(t));
      xsimd::select(causal, v, zero).store_unaligned(out_t + t0);
      // The lower-triangular product reads a row up to kRows - 1 columns past its diagonal (its
      // register block's last row), so only those need zeros, not the rest of the row.
      for (int64_t s = t0 + kLanes; s < std::min(ld, t + GemmBlocking<Arch>::kRows); ++s) {
        out_t[s] = 0.0f;
      }
    }
  }
}

// y_h[t][p] += D x_h[t][p] for the chunk's tokens, head h: the D skip connection.
template <class Arch>
void add_skip(const SsdShape& shape, const SsdChunk& chunk, int64_t h, const float* x_h, float* y_h,
              int64_t ld_y) {
  using Batch = xsimd::batch<float, Arch>;
  constexpr int64_t kLanes = Batch::size;
  const int64_t P = shape.headdim;
  const int64_t body = P - P % kLanes;
  const float* d = shape.d_has_hdim ? chunk.D + h * P : nullptr;
  for (int64_t t = 0; t < chunk.tokens; ++t) {
    float* y_t = y_h + t * ld_y;
    const float* x_t = x_h + t * chunk.ld_x;
    for (int64_t p = 0; p < body; p += kLanes) {
      const Batch dv = d ? Batch::load_unaligned(d + p) : Batch(chunk.D[h]);
      xsimd::fma(dv, Batch::load_unaligned(x_t + p), Batch::load_unaligned(y_t + p))
          .store_unaligned(y_t + p);
    }
    for (int64_t p = body; p < P; ++p) y_t[p] += (d ? d[p] : chunk.D[h]) * x_t[p];
  }
}

// x[t * cols + c] = in[t * ld_in + c] and weighted[t * cols + c] = weight[t] x[t * cols + c]:
// a head's rows packed, and scaled for the state update, in one pass.
template <class Arch>
void pack_weighted_rows(const float* in, int64_t ld_in, int64_t rows, int64_t cols,
                        const float* weight, float* x, float* weighted) {
  using Batch = xsimd::batch<float, Arch>;
  constexpr int64_t kLanes = Batch::size;
  const int64_t body = cols - cols % kLanes;
  for (int64_t t = 0; t < rows; ++t) {
    const float* row = in + t * ld_in;
    const Batch w(weight[t]);
    for (int64_t c = 0; c < body; c += kLanes) {
      const Batch v = Batch::load_unaligned(row + c);
      v.store_unaligned(x + t * cols + c);
      (v * w).store_unaligned(weighted + t * cols + c);
    }
    for (int64_t c = body; c < cols; ++c) {
      x[t * cols + c] = row[c];
      weighted[t * cols + c] = weight[t] * row[c];
    }
  }
}

// Tokens [begin, begin + count) of a chunk, as a chunk of their own.
inline SsdChunk token_range(const SsdShape& shape, const SsdChunk& chunk, int64_t begin,
                            int64_t count) {
  SsdChunk part = chunk;
  part.tokens = count;
  part.x += begin * chunk.ld_x;
  part.B += begin * chunk.ld_bc;
  part.C += begin * chunk.ld_bc;
  part.dt += begin * shape.heads;
  return part;
}

}  // namespace

template <class Arch>
void SsdChunkStateKernel::operator()(Arch, const SsdShape& shape, const SsdChunk& chunk,
                                     float* state_local, float* decay, float* workspace,
                                     int64_t h_begin, int64_t h_end) const {
  if (chunk.tokens <= 0) {  // an empty chunk is the identity: no input, no decay
    const int64_t size = shape.headdim * shape.d_state;
    std::fill(state_local + h_begin * size, state_local + h_end * size, 0.0f);
    std::fill(decay + h_begin, decay + h_end, 1.0f);
    return;
  }
  const SsdWorkspaceLayout layout(shape, chunk.tokens);
  const int64_t T = chunk.tokens, P = shape.headdim, N = shape.d_state, ld = layout.ld;
  float* cum = workspace + layout.cum;
  float* dt = workspace + layout.dt;
  float* weight = workspace + layout.coeff;
  float* weighted_x = workspace + layout.copy_buffer;  // [T, P]
  float* group_b = workspace + layout.group_b;         // [T, N]
  const int64_t heads_per_group = shape.heads / shape.groups;
  int64_t packed_group = -1;
  for (int64_t h = h_begin; h < h_end; ++h) {
    const int64_t g = h / heads_per_group;
    if (g != packed_group) {
      pack_rows(chunk.B + g * N, chunk.ld_bc, T, N, group_b);
      packed_group = g;
    }
    head_decay(shape, chunk, h, ld, dt, cum);
    // weight[t] = exp(cum[T-1] - cum[t]) dt[t]: token t's input decayed to the chunk end.
    for (int64_t t = 0; t < ld; ++t) weight[t] = t < T ? cum[T - 1] - cum[t] : 0.0f;
    decay_exp_scaled<Arch>(weight, dt, weight, ld);
    for (int64_t t = 0; t < T; ++t) {
      const float* x = chunk.x + t * chunk.ld_x + h * P;
      for (int64_t p = 0; p < P; ++p) weighted_x[t * P + p] = weight[t] * x[p];
    }
    // S_local[p][n] = sum_t weighted_x[t][p] B[t][n]
    gemm<Arch>(
        product_transposed_a(P, N, T, weighted_x, P, group_b, N, state_local + h * P * N, N));
    decay[h] = decay_exp(cum[T - 1]);
  }
}

template <class Arch>
void SsdChunkOutputKernel::operator()(Arch, const SsdShape& shape, const SsdChunk& chunk,
                                      const float* state_in, float* y, int64_t ld_y,
                                      float* workspace, int64_t h_begin, int64_t h_end) const {
  if (chunk.tokens <= 0) return;
  const SsdWorkspaceLayout layout(shape, chunk.tokens);
  const int64_t T = chunk.tokens, P = shape.headdim, N = shape.d_state, ld = layout.ld;
  float* cum = workspace + layout.cum;
  float* dt = workspace + layout.dt;
  float* decay_in = workspace + layout.coeff;
  float* cb = workspace + layout.cb;
  float* decay_matrix = workspace + layout.decay_matrix;
  float* copy = workspace + layout.copy_buffer;
  const int64_t heads_per_group = shape.heads / shape.groups;
  int64_t cb_group = -1;
  for (int64_t h = h_begin; h < h_end; ++h) {
    const int64_t g = h / heads_per_group;
    if (g != cb_group) {
      group_cb<Arch>(shape, chunk, g, ld, copy, cb);
      cb_group = g;
    }
    head_decay(shape, chunk, h, ld, dt, cum);
    head_decay_matrix<Arch>(T, ld, cb, cum, dt, decay_in, decay_matrix);
    float* y_h = y + h * P;  // [T, P] with row stride ld_y
    const float* x_h = chunk.x + h * P;
    // y_h = exp(cum[t]) * (C S_in_h^T) + decay_matrix X_h: the entering state decayed to token t
    // and read by C_t, then the chunk's own tokens, decayed and weighted by C_t . B_s, in one
    // pass over y.
    float* packed_x = workspace + layout.packed_x;
    pack_rows(x_h, chunk.ld_x, T, P, packed_x);
    GemmArgs own = product(T, P, T, decay_matrix, ld, packed_x, P, y_h, ld_y, {.a_lower = true});
    const float* S = state_in ? state_in + h * P * N : nullptr;  // [P, N]
    const GemmArgs readout = product(T, P, N, chunk.C + g * N, chunk.ld_bc, copy, P, nullptr, 0,
                                     {.row_scale = decay_in});
    if (S) {
      transpose(S, N, P, N, copy, P);  // [N, P]
      decay_exp_scaled<Arch>(cum, nullptr, decay_in, ld);
      own.first = &readout;
    }
    gemm<Arch>(own);
    add_skip<Arch>(shape, chunk, h, x_h, y_h, ld_y);
  }
}

template <class Arch>
void SsdChunkScanKernel::operator()(Arch, const SsdShape& shape, const SsdChunk& chunk,
                                    const float* state_in, float* state_out, float* y, int64_t ld_y,
                                    float* workspace, int64_t h_begin, int64_t h_end,
                                    int64_t sub_chunk) const {
  const int64_t P = shape.headdim, N = shape.d_state, T = chunk.tokens;
  if (T <= 0) {  // the identity: state_out = state_in, or zero
    for (int64_t i = h_begin * P * N; i < h_end * P * N; ++i) {
      state_out[i] = state_in ? state_in[i] : 0.0f;
    }
    return;
  }
  const SsdScanWorkspaceLayout layout(shape, T, sub_chunk);
  const int64_t ld = layout.ld, sub = layout.sub;
  const auto at = [workspace](int64_t offset) { return workspace + offset; };
  float* state_t = at(layout.state_t);  // [N, P]
  int64_t cb_group = -1;
  for (int64_t h = h_begin; h < h_end; ++h) {
    const int64_t g = h / (shape.heads / shape.groups);
    if (g != cb_group) {  // the group's B rows and every sub-chunk's C B^T, shared by its heads
      pack_rows(chunk.B + g * N, chunk.ld_bc, T, N, at(layout.group_b));
      for (int64_t s = 0; s < layout.subs; ++s) {
        const SsdChunk part = token_range(shape, chunk, s * sub, std::min(sub, T - s * sub));
        group_cb<Arch>(shape, part, g, ld, at(layout.transposed_b), at(layout.cb + s * sub * ld));
      }
      cb_group = g;
    }
    bool has_state = state_in != nullptr;
    if (has_state) transpose(state_in + h * P * N, N, P, N, state_t, P);  // [N, P]
    for (int64_t s = 0; s < layout.subs; ++s) {
      const SsdChunk part = token_range(shape, chunk, s * sub, std::min(sub, T - s * sub));
      const int64_t Ts = part.tokens;
      float* cum = at(layout.cum);
      float* dt = at(layout.dt);
      head_decay(shape, part, h, ld, dt, cum);
      // weight[t] = exp(cum[Ts-1] - cum[t]) dt[t]: token t's input decayed to the sub-chunk end.
      float* weight = at(layout.weight);
      for (int64_t t = 0; t < ld; ++t) weight[t] = t < Ts ? cum[Ts - 1] - cum[t] : 0.0f;
      decay_exp_scaled<Arch>(weight, dt, weight, ld);
      float* y_h = y + s * sub * ld_y + h * P;  // [Ts, P] with row stride ld_y
      const float* x_h = part.x + h * P;
      pack_weighted_rows<Arch>(x_h, part.ld_x, Ts, P, weight, at(layout.x), at(layout.weighted_x));
      float* decay_matrix = at(layout.decay_matrix);
      head_decay_matrix<Arch>(Ts, ld, at(layout.cb + s * sub * ld), cum, dt, at(layout.coeff),
                              decay_matrix);
      // A scalar D joins the diagonal: y += (decay_matrix + D I) X in one product.
      if (!shape.d_has_hdim) {
        for (int64_t t = 0; t < Ts; ++t) decay_matrix[t * ld + t] += part.D[h];
      }
      // y_h = exp(cum[t]) (C S^T)[t] + decay_matrix X_h (+ D X_h): the entering state decayed
      // to token t and read by C_t, then the sub-chunk's own tokens, in one pass over y.
      GemmArgs own =
          product(Ts, P, Ts, decay_matrix, ld, at(layout.x), P, y_h, ld_y, {.a_lower = true});
      const GemmArgs readout = product(Ts, P, N, part.C + g * N, part.ld_bc, state_t, P, nullptr, 0,
                                       {.row_scale = at(layout.coeff)});
      if (has_state) {
        decay_exp_scaled<Arch>(cum, nullptr, at(layout.coeff), ld);
        own.first = &readout;
      }
      gemm<Arch>(own);
      if (shape.d_has_hdim) add_skip<Arch>(shape, part, h, x_h, y_h, ld_y);
      // S^T = decay S^T + B^T (weight o X): the state leaving the sub-chunk.
      gemm<Arch>(product_transposed_a(
          N, P, Ts, at(layout.group_b + s * sub * N), N, at(layout.weighted_x), P, state_t, P,
          {.accumulate = has_state, .c_scale = decay_exp(cum[Ts - 1])}));
      has_state = true;
    }
    transpose(state_t, P, N, P, state_out + h * P * N, N);  // [P, N]
  }
}

template <class Arch>
void SsdStatePassKernel::operator()(Arch, const SsdShape& shape, const float* decay,
                                    const float* state_in, const float* state_local,
                                    float* state_out, int64_t h_begin, int64_t h_end) const {
  using Batch = xsimd::batch<float, Arch>;
  constexpr int64_t kLanes = Batch::size;
  const int64_t size = shape.headdim * shape.d_state;
  const int64_t body = size - size % kLanes;
  for (int64_t h = h_begin; h < h_end; ++h) {
    const float* in = state_in + h * size;
    const float* local = state_local + h * size;
    float* out = state_out + h * size;
    const Batch a(decay[h]);
    for (int64_t i = 0; i < body; i += kLanes) {
      xsimd::fma(a, Batch::load_unaligned(in + i), Batch::load_unaligned(local + i))
          .store_unaligned(out + i);
    }
    for (int64_t i = body; i < size; ++i) out[i] = decay[h] * in[i] + local[i];
  }
}

MAMBA2_INSTANTIATE_KERNEL(void SsdChunkScanKernel::operator(), const SsdShape&, const SsdChunk&,
                          const float*, float*, float*, int64_t, float*, int64_t, int64_t, int64_t);
MAMBA2_INSTANTIATE_KERNEL(void SsdChunkStateKernel::operator(), const SsdShape&, const SsdChunk&,
                          float*, float*, float*, int64_t, int64_t);
MAMBA2_INSTANTIATE_KERNEL(void SsdChunkOutputKernel::operator(), const SsdShape&, const SsdChunk&,
                          const float*, float*, int64_t, float*, int64_t, int64_t);
MAMBA2_INSTANTIATE_KERNEL(void SsdStatePassKernel::operator(), const SsdShape&, const float*,
                          const float*, const float*, float*, int64_t, int64_t);

}  // namespace mamba2::kernels
