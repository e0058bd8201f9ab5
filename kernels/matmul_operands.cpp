#include "kernels/matmul_operands.h"

#include <string>

#include "mamba2/error.h"

namespace mamba2::kernels {
namespace {

std::string shape(int64_t rows, int64_t cols) {
  return "[" + std::to_string(rows) + ", " + std::to_string(cols) + "]";
}

}  // namespace

void MatmulOperands::check_shapes(const char* who) const {
  if (x.cols == w.cols && y.rows == x.rows && y.cols == w.rows) return;
  throw Error(who, "operands of different shapes: x " + shape(x.rows, x.cols) + ", w " +
                       shape(w.rows, w.cols) + ", y " + shape(y.rows, y.cols));
}

}  // namespace mamba2::kernels
