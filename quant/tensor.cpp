#include "mamba2/tensor.h"

#include "mamba2/error.h"

namespace mamba2 {

TensorShape::TensorShape(std::initializer_list<int64_t> list) {
  if (list.size() > kMaxTensorRank) throw Error("tensor shape", "more than 4 dimensions");
  for (int64_t dim : list) dims[rank++] = dim;
}

int64_t TensorShape::numel() const {
  int64_t count = 1;
  for (int axis = 0; axis < rank; ++axis) {
    if (dims[axis] < 0 || __builtin_mul_overflow(count, dims[axis], &count)) return -1;
  }
  return count;
}

bool TensorShape::operator==(const TensorShape& other) const {
  if (rank != other.rank) return false;
  for (int axis = 0; axis < rank; ++axis) {
    if (dims[axis] != other.dims[axis]) return false;
  }
  return true;
}

std::string TensorShape::str() const {
  std::string text = "[";
  for (int axis = 0; axis < rank; ++axis) {
    if (axis > 0) text += ", ";
    text += std::to_string(dims[axis]);
  }
  return text + "]";
}

std::span<const float> TensorView::f32() const {
  if (dtype != DType::kF32) {
    throw Error("tensor " + shape.str(), "expected f32 data, found " + std::string(dtype_name(dtype)));
  }
  return {reinterpret_cast<const float*>(data), static_cast<size_t>(numel())};
}

}  // namespace mamba2
