// The interleaved weight layouts (WeightLayout, mat_view.h) behind one entry point, for the code
// that prepares weights at load and for tests: which layout fits a matrix, its size, and the
// rearranging. Each layout's definition lives with its kernels (matmul_q8_0.h, matmul_q4.h).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/mat_view.h"
#include "mamba2/dtype.h"

namespace mamba2::kernels {

// Rows per interleaved group: ranges given to interleave() start at multiples of it.
inline constexpr int64_t kInterleaveRows = 16;

// Every layout here holds W [n, k]'s first interleaved_rows(n) rows (whole groups of 16) in
// groups, and the n % 16 rows past them after the groups as stored, so it takes exactly the
// stored rows' bytes whatever N: each matrix can be rearranged where it is.
int64_t interleaved_rows(int64_t n);

// The interleaved layout this CPU's fastest path reads for W [n, k] of `type`, or kRows.
WeightLayout interleaved_layout(DType type, int64_t n, int64_t k);
// Inputs along K per unit of `layout` (not kRows): K must be a multiple.
int64_t interleaved_unit_inputs(WeightLayout layout);
// Bytes of W [n, k] of `type` in `layout` (not kRows).
int64_t interleaved_bytes(WeightLayout layout, DType type, int64_t n, int64_t k);
// Writes rows [n_begin, n_end) (multiples of 16, or n_end == n) of W [n, k] stored as rows of
// `type` to `out` in `layout`; disjoint ranges may run on different threads. Throws Error for a
// range or shape the layout does not take.
void interleave(WeightLayout layout, DType type, const std::byte* rows, int64_t n, int64_t k,
                int64_t n_begin, int64_t n_end, std::byte* out);

// Whether `layout` of W [n, k] of `type` takes exactly the bytes of its stored rows, so that
// interleave_in_place can rearrange them where they are.
bool interleaves_in_place(WeightLayout layout, DType type, int64_t n, int64_t k);
// Whether weights that cannot be rearranged in place (others hold them) are worth a copy in
// `layout`. Not the bf16 AMX tiles: their kernel reads rows as stored too (packing panels per
// call), and a copy would double the weights' memory.
bool interleaves_by_copy(WeightLayout layout);
// Rearranges rows [n_begin, n_end) (multiples of 16, or n_end == n) of W [n, k] stored as rows of
// `type` at `data` into `layout`, in the same bytes, one 16-row group at a time through a buffer
// of its size; disjoint ranges may run on different threads. Throws Error unless
// interleaves_in_place.
void interleave_in_place(WeightLayout layout, DType type, std::byte* data, int64_t n, int64_t k,
                         int64_t n_begin, int64_t n_end);
// Row `row` of W [n, k] in `layout` as stored (dtype_bytes(type, k) bytes to `out`): the
// inverse of interleave for one row, for reading the embedding's rows from a tied lm_head.
void deinterleave_row(WeightLayout layout, DType type, const std::byte* data, int64_t n, int64_t k,
                      int64_t row, std::byte* out);

}  // namespace mamba2::kernels
