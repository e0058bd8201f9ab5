// One entry point for projections whatever their weight type: f32 (matmul_f32), bf16
// (matmul_bf16.h), the block types with integer kernels (matmul_quant.h: q8_0, q4_0, q4_K, q5_K,
// q6_K) and every other type through dequantized panels (matmul_dequant.h), so a model may mix
// types tensor by tensor.
//
// A call is split in two so the runtime can tile it over threads: MatmulInput converts the
// activations once for the weight type (q8_0 blocks, bf16 values or even/odd floats; nothing for
// f32 and the dequantized types), token ranges in parallel if wanted; then matmul() computes any
// range of output rows from it. Results do not depend on how the rows or tokens are split.
#pragma once

#include <cstdint>

#include "kernels/matmul_bf16.h"
#include "kernels/matmul_operands.h"
#include "kernels/matmul_quant.h"

namespace mamba2::kernels {

class MatmulInput {
 public:
  MatmulInput() = default;
  explicit MatmulInput(const MatmulOperands& args) { prepare(args); }
  // Sizes the buffers for `args` (whose pointers must outlive the use) and picks the kernel path.
  // Buffers are kept between calls, so a reused MatmulInput stops allocating once it has seen
  // its largest shape. Throws Error for views that disagree on a shape or a K that the weight
  // type cannot hold.
  void prepare(const MatmulOperands& args);

  // Converts tokens [t_begin, t_end); call for every token before matmul(). Disjoint ranges may
  // run on different threads.
  void convert(int64_t t_begin, int64_t t_end);
  void convert_all() { convert(0, args_.tokens()); }

  const MatmulOperands& args() const { return args_; }
  Bf16Path bf16_path() const { return bf16_path_; }
  QuantPath quant_path() const { return quant_path_; }
  const Bf16Activations& bf16() const { return bf16_; }
  const Q8_0Activations& q8_0() const { return q8_0_; }

 private:
  MatmulOperands args_;
  Bf16Path bf16_path_ = Bf16Path::kWiden;
  QuantPath quant_path_ = QuantPath::kScalar;
  Bf16Activations bf16_;
  Q8_0Activations q8_0_;
};

// y rows [n_begin, n_end) of input.args(), from converted activations.
void matmul(const MatmulInput& input, int64_t n_begin, int64_t n_end);

// Converts and computes in one call (tests, benchmarks, callers without tiling).
void matmul(const MatmulOperands& args, int64_t n_begin, int64_t n_end);

}  // namespace mamba2::kernels
