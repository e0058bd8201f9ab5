#include "kernels/matmul_q8_0.h"

#include <cpuid.h>

#include <cmath>
#include <cstring>
#include <string>

#include "kernels/simd.h"
#include "mamba2/error.h"
#include "quant/float16.h"
#include "quant/q8_0.h"

namespace mamba2::kernels {
namespace {

constexpr int64_t kBlockBytes = sizeof(BlockQ8_0);

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

// The scalar twin of ggml's hsum_float_8: halves added, then quarters, then the last pair.
float sum_lanes(const float (&lane)[8]) {
  const float q0 = lane[0] + lane[4], q1 = lane[1] + lane[5];
  const float q2 = lane[2] + lane[6], q3 = lane[3] + lane[7];
  return (q0 + q2) + (q1 + q3);
}

// One output: the eight-lane dot product of a Q8_0 row with one token's quantized activations.
float dot_row_scalar(const std::byte* row, const int8_t* xq, const float* x_scales,
                     int64_t blocks) {
  float lane[8] = {};
  for (int64_t b = 0; b < blocks; ++b) {
    BlockQ8_0 block;
    std::memcpy(&block, row + b * kBlockBytes, sizeof block);
    const float scale = f16_to_f32(block.d) * x_scales[b];
    for (int j = 0; j < 8; ++j) {
      int32_t isum = 0;
      for (int i = 4 * j; i < 4 * j + 4; ++i) {
        isum += int32_t{block.qs[i]} * int32_t{xq[b * kQ8_0BlockElems + i]};
      }
      lane[j] = std::fma(static_cast<float>(isum), scale, lane[j]);
    }
  }
  return sum_lanes(lane);
}

}  // namespace

std::span<const PathInfo<Q8_0Path>> path_table(Q8_0Path) {
  static constexpr PathInfo<Q8_0Path> kTable[] = {
      {Q8_0Path::kScalar, "scalar", any_cpu},
      {Q8_0Path::kAvx2, "avx2", [] { return simd_level() >= SimdLevel::kAvx2; }},
      {Q8_0Path::kAvxVnni, "avxvnni",
       [] { return simd_level() >= SimdLevel::kAvx2 && cpu_has_avx_vnni(); }},
      {Q8_0Path::kAvx512Vnni, "avx512vnni",
       [] { return simd_level() >= SimdLevel::kAvx512 && cpu_has_avx512_vnni(); }},
  };
  return kTable;
}

Q8_0Path q8_0_path() {
  static const Q8_0Path best = first_supported(
      {Q8_0Path::kAvx512Vnni, Q8_0Path::kAvxVnni, Q8_0Path::kAvx2}, Q8_0Path::kScalar);
  return best;
}

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
}

void quantize_activations_q8_0(Q8_0Path path, MatView<const float> x, int64_t t_begin,
                               int64_t t_end, Q8_0Activations& out) {
  if (path != Q8_0Path::kScalar) return q8_0_detail::quantize_avx2(x, t_begin, t_end, out);
  const int64_t blocks = out.blocks();
  for (int64_t t = t_begin; t < t_end; ++t) {
    for (int64_t b = 0; b < blocks; ++b) {
      const BlockQ8_0 block = quantize_block_q8_0(x.row(t) + b * kQ8_0BlockElems);
      std::memcpy(&out.quants[t * out.k + b * kQ8_0BlockElems], block.qs, sizeof block.qs);
      out.scales[t * blocks + b] = f16_to_f32(block.d);
      int32_t block_sum = 0;
      for (int j = 0; j < 8; ++j) {
        int32_t sum = 0;
        for (int i = 4 * j; i < 4 * j + 4; ++i) sum += block.qs[i];
        out.lane_offsets[(t * blocks + b) * 8 + j] = -128 * sum;
        block_sum += sum;
      }
      out.block_offsets[t * blocks + b] = -128 * block_sum;
    }
  }
}

bool q8_0_interleave_supported(int64_t n, int64_t k) {
  return n > 0 && k > 0 && k % (kQ8_0UnitBlocks * kQ8_0BlockElems) == 0 &&
         q8_0_path() == Q8_0Path::kAvx512Vnni;
}

int64_t q8_0_interleaved_bytes(int64_t n, int64_t k) {
  const int64_t groups = (n + kQ8_0UnitRows - 1) / kQ8_0UnitRows;
  return groups * (k / (kQ8_0UnitBlocks * kQ8_0BlockElems)) * kQ8_0UnitBytes;
}

void interleave_q8_0(const std::byte* rows, int64_t n, int64_t k, int64_t n_begin, int64_t n_end,
                     std::byte* out) {
  if (n <= 0 || k <= 0 || k % (kQ8_0UnitBlocks * kQ8_0BlockElems) != 0 || n_begin < 0 ||
      n_begin % kQ8_0UnitRows != 0 || (n_end % kQ8_0UnitRows != 0 && n_end != n) || n_end > n) {
    throw Error("interleave_q8_0", "rows [" + std::to_string(n_begin) + ", " +
                                       std::to_string(n_end) + ") of a [" + std::to_string(n) +
                                       ", " + std::to_string(k) +
                                       "] weight do not fit 16-row, 64-input units");
  }
  const int64_t blocks = k / kQ8_0BlockElems;
  const int64_t row_bytes = blocks * kBlockBytes;
  const int64_t units_per_group = blocks / kQ8_0UnitBlocks;
  for (int64_t row0 = n_begin; row0 < n_end; row0 += kQ8_0UnitRows) {
    for (int64_t b = 0; b < blocks; ++b) {
      std::byte* unit =
          out + (row0 / kQ8_0UnitRows * units_per_group + b / kQ8_0UnitBlocks) * kQ8_0UnitBytes;
      const int64_t j = b % kQ8_0UnitBlocks;
      for (int64_t r = 0; r < kQ8_0UnitRows; ++r) {
        BlockQ8_0 block{};  // rows past N: zero scale and quants
        if (row0 + r < n) {
          std::memcpy(&block, rows + (row0 + r) * row_bytes + b * kBlockBytes, sizeof block);
        }
        // Each 4 consecutive quants stay together, made unsigned (+128) for vpdpbusd.
        for (int i = 0; i < kQ8_0BlockElems; i += 4) {
          uint32_t quad;
          std::memcpy(&quad, block.qs + i, sizeof quad);
          quad ^= 0x80808080u;
          std::memcpy(unit + kQ8_0UnitQuantBytes * j + 64 * (i / 4) + 4 * r, &quad, sizeof quad);
        }
        std::memcpy(unit + kQ8_0UnitScaleOffset + kQ8_0UnitScaleBytes * j + 2 * r, &block.d,
                    sizeof block.d);
      }
    }
  }
}

void matmul_q8_0(Q8_0Path path, const MatmulOperands& args, const Q8_0Activations& xq,
                 int64_t n_begin, int64_t n_end) {
  args.check_shapes("matmul_q8_0");
  if (n_begin >= n_end || args.tokens() <= 0) return;
  if (xq.k != args.k() || xq.tokens < args.tokens()) {
    throw Error("matmul_q8_0", "activations quantized for another shape");
  }
  if (args.w.layout == WeightLayout::kQ8_0Interleaved16) {
    if (path != Q8_0Path::kAvx512Vnni || args.k() % (kQ8_0UnitBlocks * kQ8_0BlockElems) != 0) {
      throw Error("matmul_q8_0", "interleaved weights need the avx512vnni path and K % 64 == 0");
    }
    return q8_0_detail::matmul_avx512vnni_interleaved(args, xq, n_begin, n_end);
  }
  switch (path) {
    case Q8_0Path::kAvx512Vnni:
      return q8_0_detail::matmul_avx512vnni(args, xq, n_begin, n_end);
    case Q8_0Path::kAvxVnni:
      return q8_0_detail::matmul_avxvnni(args, xq, n_begin, n_end);
    case Q8_0Path::kAvx2:
      return q8_0_detail::matmul_avx2(args, xq, n_begin, n_end);
    case Q8_0Path::kScalar:
      break;
  }
  q8_0_detail::matmul_scalar(args, xq, n_begin, n_end);
}

namespace q8_0_detail {

void matmul_scalar(const MatmulOperands& args, const Q8_0Activations& xq, int64_t n_begin,
                   int64_t n_end) {
  const int64_t blocks = xq.blocks();
  const int64_t row_bytes = blocks * kBlockBytes;
  for (int64_t t = 0; t < args.tokens(); ++t) {
    const int8_t* quants = &xq.quants[t * xq.k];   // [K]
    const float* scales = &xq.scales[t * blocks];  // [K / 32]
    for (int64_t n = n_begin; n < n_end; ++n) {
      const float sum = dot_row_scalar(args.w.data + n * row_bytes, quants, scales, blocks);
      args.y.row(t)[n] = args.bias ? sum + args.bias[n] : sum;
    }
  }
}

}  // namespace q8_0_detail
}  // namespace mamba2::kernels
