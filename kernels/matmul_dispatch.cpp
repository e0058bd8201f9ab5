#include "kernels/matmul_dispatch.h"

#include <string>

#include "kernels/matmul.h"
#include "mamba2/error.h"

namespace mamba2::kernels {

void MatmulInput::prepare(const MatmulOperands& args) {
  args.check_shapes("matmul");
  args_ = args;
  switch (args.w.type) {
    case DType::kF32:
      return;
    case DType::kBF16:
      bf16_path_ = kernels::bf16_path(args.tokens(), args.token_rows);
      bf16_.resize(bf16_path_, args.tokens(), args.k());
      return;
    case DType::kQ8_0:
      q8_0_path_ = kernels::q8_0_path();
      q8_0_.resize(args.tokens(), args.k());
      return;
    default:  // f16 (widened at load) and ggml's other block types: read, not computed with yet
      break;
  }
  throw Error("matmul", "no kernel for " + std::string(dtype_name(args.w.type)) + " weights");
}

void MatmulInput::convert(int64_t t_begin, int64_t t_end) {
  if (t_begin >= t_end) return;
  if (args_.w.type == DType::kBF16) {
    prepare_activations_bf16(args_.x, t_begin, t_end, bf16_);
  } else if (args_.w.type == DType::kQ8_0) {
    quantize_activations_q8_0(q8_0_path_, args_.x, t_begin, t_end, q8_0_);
  }
}

void matmul(const MatmulInput& input, int64_t n_begin, int64_t n_end) {
  const MatmulOperands& args = input.args();
  switch (args.w.type) {
    case DType::kF32:
      return matmul_f32(args, n_begin, n_end);
    case DType::kBF16:
      return matmul_bf16(input.bf16_path(), args, input.bf16(), n_begin, n_end);
    case DType::kQ8_0:
      return matmul_q8_0(input.q8_0_path(), args, input.q8_0(), n_begin, n_end);
    default:  // f16 (widened at load) and ggml's other block types: read, not computed with yet
      break;
  }
  throw Error("matmul", "no kernel for " + std::string(dtype_name(args.w.type)) + " weights");
}

void matmul(const MatmulOperands& args, int64_t n_begin, int64_t n_end) {
  MatmulInput input(args);
  input.convert_all();
  matmul(input, n_begin, n_end);
}

}  // namespace mamba2::kernels
