// A non-owning view of one weight tensor: element type, shape and bytes. Shapes are written
// outermost first, as PyTorch does (`W[out, in]` is {out, in}); GGUF's reversed `ne` order is
// translated at the file boundary and nowhere else.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>

#include "mamba2/dtype.h"

namespace mamba2 {

inline constexpr int kMaxTensorRank = 4;

struct TensorShape {
  std::array<int64_t, kMaxTensorRank> dims{};
  int rank = 0;

  TensorShape() = default;
  TensorShape(std::initializer_list<int64_t> list);

  int64_t operator[](int axis) const { return dims[axis]; }
  int64_t numel() const;
  bool operator==(const TensorShape& other) const;
  std::string str() const;  // "[24, 64]"
};

struct TensorView {
  DType dtype = DType::kF32;
  TensorShape shape;
  const std::byte* data = nullptr;
  uint64_t nbytes = 0;

  bool empty() const { return data == nullptr; }
  int64_t numel() const { return shape.numel(); }
  // The elements of an f32 tensor (throws Error for another dtype).
  std::span<const float> f32() const;
};

}  // namespace mamba2
