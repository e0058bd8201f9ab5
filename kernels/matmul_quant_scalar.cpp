// The scalar path of matmul_quant: the order of float operations of matmul_quant.h written
// plainly, on the integer groups of quant_groups.h. The reference of every SIMD path's bits.
#include <cmath>

#include "kernels/matmul_quant.h"
#include "kernels/quant_groups.h"

namespace mamba2::kernels::quant_detail {
namespace {

// The scalar twin of ggml's hsum_float_8: halves added, then quarters, then the last pair.
float sum_lanes(const float (&lane)[8]) {
  const float q0 = lane[0] + lane[4], q1 = lane[1] + lane[5];
  const float q2 = lane[2] + lane[6], q3 = lane[3] + lane[7];
  return (q0 + q2) + (q1 + q3);
}

// One output: a row of `type` against one token's quantized activations.
float dot_row(DType type, const QuantGeometry& geometry, const std::byte* row, const int8_t* xq,
              const float* x_scales, const float* x_sums, int64_t blocks) {
  float lane[8] = {};
  float min_lane[8] = {};  // lane g: sub-block g's minimums, for the types that have them
  for (int64_t sb = 0; sb < blocks; ++sb) {
    for (int g = 0; g < geometry.groups; ++g) {
      const QuantGroup group = decode_group(type, row + sb * geometry.block_bytes, g);
      const int64_t b = sb * geometry.groups + g;  // the activation block
      for (int j = 0; j < 8; ++j) {
        int32_t isum = 0;
        for (int i = 4 * j; i < 4 * j + 4; ++i) {
          isum += int32_t{group.q[i]} * int32_t{xq[b * kGroupElems + i]};
        }
        lane[j] = std::fma(static_cast<float>(isum), group.scale[j] * x_scales[b], lane[j]);
      }
      if (geometry.mins) min_lane[g] = std::fma(group.min, x_sums[b], min_lane[g]);
    }
  }
  return geometry.mins ? sum_lanes(lane) - sum_lanes(min_lane) : sum_lanes(lane);
}

}  // namespace

void matmul_scalar(const MatmulOperands& args, const Q8_0Activations& xq, int64_t n_begin,
                   int64_t n_end) {
  const QuantGeometry geometry = quant_geometry(args.w.type);
  const int64_t blocks = args.k() / (geometry.groups * kGroupElems);
  const int64_t row_bytes = blocks * geometry.block_bytes;
  for (int64_t t = 0; t < args.tokens(); ++t) {
    const int8_t* quants = &xq.quants[t * xq.k];        // [K]
    const float* scales = &xq.scales[t * xq.blocks()];  // [K / 32]
    const float* sums = &xq.sums[t * xq.blocks()];      // [K / 32]
    for (int64_t n = n_begin; n < n_end; ++n) {
      const float sum =
          dot_row(args.w.type, geometry, args.w.data + n * row_bytes, quants, scales, sums, blocks);
      args.y.row(t)[n] = args.bias ? sum + args.bias[n] : sum;
    }
  }
}

}  // namespace mamba2::kernels::quant_detail
