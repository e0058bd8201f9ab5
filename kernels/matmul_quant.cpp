#include "kernels/matmul_quant.h"

#include <cpuid.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "kernels/interleave.h"
#include "kernels/matmul_q4.h"
#include "kernels/matmul_q8_0.h"
#include "kernels/quant_groups.h"
#include "kernels/simd.h"
#include "mamba2/error.h"
#include "quant/float16.h"
#include "quant/q8_0.h"

namespace mamba2::kernels {
namespace {

bool cpu_has_avx512_vnni() {
  static const bool has = __builtin_cpu_supports("avx512vnni") != 0;
  return has;
}

// CPUID leaf 7 subleaf 1, EAX bit 4, read directly: clang before 16 rejects "avxvnni" in
// __builtin_cpu_supports. The avx2 check also says the OS saves the YMM registers.
bool cpu_has_avx_vnni() {
  static const bool has = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    return __builtin_cpu_supports("avx2") != 0 && __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) &&
           (eax & (1u << 4)) != 0;
  }();
  return has;
}

void quantize_scalar(MatView<const float> x, int64_t t_begin, int64_t t_end, Q8_0Activations& out) {
  const int64_t blocks = out.blocks();
  for (int64_t t = t_begin; t < t_end; ++t) {
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t i = t * blocks + b;
      out.block_offsets[i] = quant_detail::quantize_block_reference(
          x.row(t) + b * kQ8_0BlockElems, &out.quants[i * 32], &out.scales[i],
          &out.lane_offsets[i * 8]);
    }
  }
}

}  // namespace

std::span<const PathInfo<QuantPath>> path_table(QuantPath) {
  static constexpr PathInfo<QuantPath> kTable[] = {
      {QuantPath::kScalar, "scalar", any_cpu},
      {QuantPath::kAvx2, "avx2", [] { return simd_level() >= SimdLevel::kAvx2; }},
      {QuantPath::kAvxVnni, "avxvnni",
       [] { return simd_level() >= SimdLevel::kAvx2 && cpu_has_avx_vnni(); }},
      {QuantPath::kAvx512Vnni, "avx512vnni",
       [] { return simd_level() >= SimdLevel::kAvx512 && cpu_has_avx512_vnni(); }},
  };
  return kTable;
}

namespace quant_detail {

int32_t quantize_block_reference(const float* x, int8_t* quants, float* scale,
                                 int32_t* lane_offsets) {
  const BlockQ8_0 block = quantize_block_q8_0(x);
  std::memcpy(quants, block.qs, sizeof block.qs);
  *scale = f16_to_f32(block.d);
  int32_t block_offset = 0;
  for (int lane = 0; lane < 8; ++lane) {
    const int8_t* q = block.qs + 4 * lane;
    lane_offsets[lane] = -128 * (q[0] + q[1] + q[2] + q[3]);
    block_offset += lane_offsets[lane];
  }
  return block_offset;
}

}  // namespace quant_detail

QuantPath quant_path() {
  static const QuantPath best = first_supported(
      {QuantPath::kAvx512Vnni, QuantPath::kAvxVnni, QuantPath::kAvx2}, QuantPath::kScalar);
  return best;
}

bool has_quant_kernel(DType type) { return quant_geometry(type).groups > 0; }

void Q8_0Activations::resize(int64_t token_count, int64_t k_inputs) {
  if (token_count < 0 || k_inputs < 0 || k_inputs % kQ8_0BlockElems != 0) {
    throw Error("Q8_0Activations",
                "K " + std::to_string(k_inputs) + " is not a whole number of 32-input blocks");
  }
  tokens = token_count;
  k = k_inputs;
  quants.resize(static_cast<size_t>(tokens * k));
  scales.resize(static_cast<size_t>(tokens * blocks()));
  lane_offsets.resize(static_cast<size_t>(tokens * blocks() * 8));
  block_offsets.resize(static_cast<size_t>(tokens * blocks()));
  sums.resize(static_cast<size_t>(tokens * blocks()));
}

void quantize_activations_q8_0(QuantPath path, MatView<const float> x, int64_t t_begin,
                               int64_t t_end, Q8_0Activations& out) {
  switch (path) {
    case QuantPath::kAvx512Vnni:
      quant_detail::quantize_avx512(x, t_begin, t_end, out);
      break;
    case QuantPath::kAvx2:
    case QuantPath::kAvxVnni:
      quant_detail::quantize_avx2(x, t_begin, t_end, out);
      break;
    case QuantPath::kScalar:
      quantize_scalar(x, t_begin, t_end, out);
      break;
  }
  // The block sums follow exactly from the offsets (-128 * sum), whichever path wrote them.
  const int64_t blocks = out.blocks();
  for (int64_t i = t_begin * blocks; i < t_end * blocks; ++i) {
    out.sums[i] = out.scales[i] * static_cast<float>(out.block_offsets[i] / -128);
  }
}

namespace {

// W in an interleaved layout (interleave.h): its whole groups of 16 rows through the layout's
// kernel, the rows past them, stored as rows after the groups, through W as stored.
void matmul_interleaved(QuantPath path, const MatmulOperands& args, const Q8_0Activations& xq,
                        int64_t n_begin, int64_t n_end) {
  const WeightLayout layout = args.w.layout;
  const DType type =
      layout == WeightLayout::kQ8_0Interleaved16 ? DType::kQ8_0 : q4_layout_type(layout);
  if (args.w.type != type || path != QuantPath::kAvx512Vnni ||
      args.k() % interleaved_unit_inputs(layout) != 0) {
    throw Error("matmul_quant", "interleaved " + std::string(dtype_name(type)) +
                                    " weights need that type, the avx512vnni path and whole units");
  }
  const int64_t grouped = interleaved_rows(args.n());
  if (n_begin < grouped) {
    const int64_t end = std::min(n_end, grouped);
    if (type == DType::kQ8_0) {
      q8_0_detail::matmul_avx512vnni_interleaved(args, xq, n_begin, end);
    } else {
      q4_detail::matmul_avx512vnni_interleaved(args, xq, n_begin, end);
    }
  }
  if (n_end <= grouped) return;
  // The rows past the groups: W [n - grouped, K] as stored, into Y's columns from `grouped`.
  const int64_t row_bytes = static_cast<int64_t>(*dtype_bytes(type, args.k()));
  MatmulOperands tail = args;
  tail.w = {type, args.w.data + grouped * row_bytes, args.n() - grouped, args.k()};
  tail.bias = args.bias ? args.bias + grouped : nullptr;
  tail.y = {args.y.data + grouped, args.y.rows, args.n() - grouped, args.y.stride};
  quant_detail::matmul_avx512vnni(tail, xq, std::max(n_begin, grouped) - grouped, n_end - grouped);
}

}  // namespace

void matmul_quant(QuantPath path, const MatmulOperands& args, const Q8_0Activations& xq,
                  int64_t n_begin, int64_t n_end) {
  args.check_shapes("matmul_quant");
  const QuantGeometry geometry = quant_geometry(args.w.type);
  if (geometry.groups == 0) {
    throw Error("matmul_quant",
                "no integer kernel for " + std::string(dtype_name(args.w.type)) + " weights");
  }
  if (args.k() % (geometry.groups * kGroupElems) != 0) {
    throw Error("matmul_quant", "K " + std::to_string(args.k()) + " is not whole " +
                                    std::string(dtype_name(args.w.type)) + " blocks");
  }
  if (n_begin >= n_end || args.tokens() <= 0) return;
  if (xq.k != args.k() || xq.tokens < args.tokens()) {
    throw Error("matmul_quant", "activations quantized for another shape");
  }
  if (args.w.layout != WeightLayout::kRows)
    return matmul_interleaved(path, args, xq, n_begin, n_end);
  switch (path) {
    case QuantPath::kAvx512Vnni:
      return quant_detail::matmul_avx512vnni(args, xq, n_begin, n_end);
    case QuantPath::kAvxVnni:
      return quant_detail::matmul_avxvnni(args, xq, n_begin, n_end);
    case QuantPath::kAvx2:
      return quant_detail::matmul_avx2(args, xq, n_begin, n_end);
    case QuantPath::kScalar:
      break;
  }
  quant_detail::matmul_scalar(args, xq, n_begin, n_end);
}

}  // namespace mamba2::kernels
