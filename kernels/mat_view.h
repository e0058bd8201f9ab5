// Non-owning views of the matrices the kernels read and write: a pointer with its shape (and,
// for activations, a row stride), so a call names each operand instead of passing pointers,
// strides and sizes in a row. gemma.cpp's MatPtr (util/mat.h) is the model.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mamba2/dtype.h"

namespace mamba2::kernels {

// A [rows, cols] matrix of T whose row r starts at data + r * stride, so a view may be some
// columns of a wider matrix. T is const for a matrix the kernel only reads.
template <class T>
struct MatView {
  T* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t stride = 0;  // elements from one row to the next

  T* row(int64_t r) const { return data + r * stride; }
};

// How a weight matrix's rows are laid out in memory.
enum class WeightLayout : uint8_t {
  kRows,               // as stored: row after row of the weight type
  kQ8_0Interleaved16,  // q8_0 rearranged by interleave_q8_0() for the AVX512-VNNI kernels
  kQ4_0Interleaved16,  // q4_0 rearranged by interleave_q4() (matmul_q4.h), likewise
  kQ4_KInterleaved16,  // q4_K rearranged by interleave_q4()
  kQ6_KInterleaved16,  // q6_K rearranged by interleave_q4()
  kF32Panels16,        // f32 in 16-row panels by pack_f32_panels() for our GEMM
  kBf16AmxTiles16,     // bf16 in AMX A tiles by interleave_bf16_tiles() (matmul_bf16.h)
};

// A weight matrix W [rows, cols] in its stored element type: with WeightLayout::kRows, rows of
// dtype_bytes(type, cols) bytes one after the other (f32, bf16 or q8_0 blocks).
struct WeightView {
  DType type = DType::kF32;
  const std::byte* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  WeightLayout layout = WeightLayout::kRows;

  static WeightView f32(const float* data, int64_t rows, int64_t cols) {
    return {DType::kF32, reinterpret_cast<const std::byte*>(data), rows, cols};
  }

  // The kRows elements as T: float for f32, uint16_t for bf16.
  template <class T>
  const T* elements() const {
    return reinterpret_cast<const T*>(data);
  }
};

}  // namespace mamba2::kernels
