#include "kernels/matmul_dispatch.h"

#include <string>

#include "kernels/matmul.h"
#include "kernels/matmul_dequant.h"
#include "mamba2/error.h"

namespace mamba2::kernels {

void MatmulInput::prepare(const MatmulOperands& args) {
  args.check_shapes("matmul");
  args_ = args;
  if (args.w.type == DType::kF32) return;
  if (args.w.type == DType::kBF16) {
    bf16_path_ = kernels::bf16_path(args.tokens(), args.token_rows);
    bf16_.resize(bf16_path_, args.tokens(), args.k());
  } else if (has_quant_kernel(args.w.type)) {
    quant_path_ = kernels::quant_path();
    q8_0_.resize(args.tokens(), args.k());
  }
  // The other types read x as it is, through dequantized panels.
  if (!dtype_bytes(args.w.type, args.k())) {
    throw Error("matmul", "K " + std::to_string(args.k()) + " is not whole " +
                              std::string(dtype_name(args.w.type)) + " blocks");
  }
}

void MatmulInput::convert(int64_t t_begin, int64_t t_end) {
  if (t_begin >= t_end) return;
  if (args_.w.type == DType::kBF16) {
    prepare_activations_bf16(args_.x, t_begin, t_end, bf16_);
  } else if (has_quant_kernel(args_.w.type)) {
    quantize_activations_q8_0(quant_path_, args_.x, t_begin, t_end, q8_0_);
  }
}

void matmul(const MatmulInput& input, int64_t n_begin, int64_t n_end) {
  const MatmulOperands& args = input.args();
  if (args.w.type == DType::kF32) return matmul_f32(args, n_begin, n_end);
  if (args.w.type == DType::kBF16) {
    return matmul_bf16(input.bf16_path(), args, input.bf16(), n_begin, n_end);
  }
  if (has_quant_kernel(args.w.type)) {
    return matmul_quant(input.quant_path(), args, input.q8_0(), n_begin, n_end);
  }
  matmul_dequant(args, n_begin, n_end);
}

void matmul(const MatmulOperands& args, int64_t n_begin, int64_t n_end) {
  MatmulInput input(args);
  input.convert_all();
  matmul(input, n_begin, n_end);
}

}  // namespace mamba2::kernels
