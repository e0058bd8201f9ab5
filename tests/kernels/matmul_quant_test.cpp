// bf16 and block-quantized projections (the integer kernels of q8_0, q4_0, q4_K, q5_K and q6_K,
// and the dequantized panels of every other type): every path against `dequantize -> f32
// reference` over ragged shapes, the paths against each other, and tiling invariance (a row or
// token computed alone or within a bigger call gives the same bits).
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "kernels/interleave.h"
#include "kernels/matmul.h"
#include "kernels/matmul_dequant.h"
#include "kernels/matmul_dispatch.h"
#include "kernels/matmul_q4.h"
#include "kernels/matmul_q8_0.h"
#include "kernels/quant_groups.h"
#include "mamba2/error.h"
#include "quant/float16.h"
#include "quant/k_quants.h"
#include "quant/q8_0.h"
#include "quant/row_conversion.h"
#include "tests/kernels/kernel_test_util.h"

namespace mamba2::kernels {
namespace {

using testing::for_each_simd_level;
using testing::ragged_lengths;
using testing::random_vector;

constexpr float kUntouched = -7.0f;

// One projection: random f32 activations and weights, the weights stored as `type` and also
// dequantized back to f32 (what the kernels must reproduce), padded row strides for X and Y.
struct QuantCase {
  DType type;
  int64_t tokens, k, n, ld_x, ld_y;
  std::vector<float> x, bias, y;
  std::vector<std::byte> w;      // [N, K] of `type`
  std::vector<float> w_widened;  // [N, K] dequantized

  QuantCase(DType t, int64_t tokens_in, int64_t k_in, int64_t n_in, uint32_t seed)
      : type(t), tokens(tokens_in), k(k_in), n(n_in), ld_x(k_in + 3), ld_y(n_in + 2) {
    x = random_vector(tokens * ld_x, seed, -2.0f, 2.0f);  // [T, ld_x]
    const std::vector<float> w_f32 = random_vector(n * k, seed + 1);
    bias = random_vector(n, seed + 2);
    y.assign(tokens * ld_y, kUntouched);
    const int64_t row_bytes = static_cast<int64_t>(*dtype_bytes(type, k));
    w.resize(static_cast<size_t>(n * row_bytes));
    w_widened.resize(static_cast<size_t>(n * k));
    for (int64_t r = 0; r < n; ++r) {
      convert_row_from_f32(type, &w_f32[r * k], &w[r * row_bytes], k);
      convert_row_to_f32(type, &w[r * row_bytes], &w_widened[r * k], k);
    }
  }

  MatView<const float> x_view() const { return {x.data(), tokens, k, ld_x}; }

  MatmulOperands args(bool with_bias = true) {
    return {.x = x_view(),
            .w = {type, w.data(), n, k},
            .bias = with_bias ? bias.data() : nullptr,
            .y = {y.data(), tokens, n, ld_y}};
  }

  // Token t alone, its outputs written to `single` (a case of one token).
  MatmulOperands token_args(int64_t t, QuantCase& single) {
    MatmulOperands one = args();
    one.x = {x_view().row(t), 1, k, ld_x};
    one.y = {single.y.data(), 1, n, single.ld_y};
    return one;
  }
};

// Y = X_used * W_widened^T (+ bias) in double, with the sum of |terms| for error bounds.
struct Reference {
  std::vector<double> y, magnitude;  // [T, N]
};

Reference reference(const QuantCase& c, const std::vector<float>& x_used, int64_t ld, bool bias) {
  Reference out;
  out.y.resize(c.tokens * c.n);
  out.magnitude.resize(c.tokens * c.n);
  for (int64_t t = 0; t < c.tokens; ++t) {
    for (int64_t r = 0; r < c.n; ++r) {
      double acc = bias ? c.bias[r] : 0.0, magnitude = bias ? std::fabs(c.bias[r]) : 0.0;
      for (int64_t i = 0; i < c.k; ++i) {
        const double term = double(x_used[t * ld + i]) * c.w_widened[r * c.k + i];
        acc += term;
        magnitude += std::fabs(term);
      }
      out.y[t * c.n + r] = acc;
      out.magnitude[t * c.n + r] = magnitude;
    }
  }
  return out;
}

// |y - reference| <= rel * magnitude + abs for every output, padding columns untouched.
void expect_near_reference(const QuantCase& c, const Reference& ref, double rel, double abs) {
  for (int64_t t = 0; t < c.tokens; ++t) {
    for (int64_t j = 0; j < c.ld_y; ++j) {
      const float actual = c.y[t * c.ld_y + j];
      if (j >= c.n) {
        ASSERT_EQ(actual, kUntouched) << "padding written at token " << t << " column " << j;
        continue;
      }
      ASSERT_NEAR(actual, ref.y[t * c.n + j], rel * ref.magnitude[t * c.n + j] + abs)
          << "token " << t << " row " << j;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Q8_0

std::vector<QuantPath> quant_paths() {
  std::vector<QuantPath> paths;
  for (QuantPath path :
       {QuantPath::kScalar, QuantPath::kAvx2, QuantPath::kAvxVnni, QuantPath::kAvx512Vnni}) {
    if (path_supported(path)) paths.push_back(path);
  }
  return paths;
}

Q8_0Activations quantized(QuantPath path, const QuantCase& c) {
  Q8_0Activations xq;
  xq.resize(c.tokens, c.k);
  quantize_activations_q8_0(path, c.x_view(), 0, c.tokens, xq);
  return xq;
}

// Every block of x [tokens, k] quantized by `path` holds quantize_block_q8_0's bytes, scale, lane
// and block offsets and sum.
void expect_reference_quantizer_bytes(QuantPath path, const std::vector<float>& x, int64_t tokens,
                                      int64_t k) {
  Q8_0Activations xq;
  xq.resize(tokens, k);
  quantize_activations_q8_0(path, {x.data(), tokens, k, k}, 0, tokens, xq);
  for (int64_t block = 0; block < tokens * k / 32; ++block) {
    const BlockQ8_0 expected = quantize_block_q8_0(&x[block * 32]);
    // Bits, not values: a block's scale may be a NaN.
    EXPECT_EQ(std::bit_cast<uint32_t>(xq.scales[block]),
              std::bit_cast<uint32_t>(f16_to_f32(expected.d)))
        << "block " << block;
    EXPECT_EQ(std::memcmp(&xq.quants[block * 32], expected.qs, 32), 0) << "block " << block;
    int32_t block_sum = 0;
    for (int lane = 0; lane < 8; ++lane) {
      const int8_t* q = expected.qs + 4 * lane;
      EXPECT_EQ(xq.lane_offsets[block * 8 + lane], -128 * (q[0] + q[1] + q[2] + q[3]))
          << "block " << block << " lane " << lane;
      block_sum += q[0] + q[1] + q[2] + q[3];
    }
    EXPECT_EQ(xq.block_offsets[block], -128 * block_sum) << "block " << block;
    EXPECT_EQ(std::bit_cast<uint32_t>(xq.sums[block]),
              std::bit_cast<uint32_t>(xq.scales[block] * static_cast<float>(block_sum)))
        << "block " << block;
  }
}

TEST(Q8_0Activations, EveryPathGivesTheReferenceQuantizerBytes) {
  // Random rows, plus one block of exact ties (x / d = n + 0.5) that roundf sends away from zero.
  std::vector<float> x = random_vector(3 * 96, 5, -3.0f, 3.0f);  // [3, 96]
  for (int i = 0; i < 32; ++i) x[i] = (i == 0) ? 127.0f : (i % 2 ? 1.0f : -1.0f) * (i + 0.5f);
  for (int i = 32; i < 64; ++i) x[i] = 0.0f;  // an all-zero block: d = 0, quants 0
  // Quants that are not finite: a NaN (which amax forgets), an infinity (d = inf, id = 0) and a
  // subnormal block whose 1 / d overflows. Every path makes each -128.
  x[64] = std::numeric_limits<float>::quiet_NaN();
  x[96] = std::numeric_limits<float>::infinity();
  for (int i = 128; i < 160; ++i) x[i] = (i % 3 ? 1e-40f : 0.0f);
  for (QuantPath path : quant_paths()) {
    SCOPED_TRACE(std::string(path_name(path)));
    expect_reference_quantizer_bytes(path, x, 3, 96);
  }
}

// Rows of 20 blocks (the AVX-512 quantizer's sixteen at a time, then four) with scales that span
// f16's range, from subnormal to overflowing, and NaNs wherever a block may hold one: ggml's MAX()
// keeps a NaN only when it comes last, so where it sits decides the block.
TEST(Q8_0Activations, EveryPathGivesTheReferenceBytesForWholeGroupsOfBlocks) {
  constexpr int64_t kTokens = 3, kK = 20 * 32;
  std::vector<float> x = random_vector(kTokens * kK, 11, -1.0f, 1.0f);
  for (int64_t block = 0; block < kTokens * kK / 32; ++block) {
    const float scale = std::ldexp(1.0f, static_cast<int>(block % 41) * 3 - 60);  // 2^-60..2^60
    for (int64_t i = 0; i < 32; ++i) x[block * 32 + i] *= scale;
  }
  const float nan = std::numeric_limits<float>::quiet_NaN();
  x[5 * 32 + 0] = nan;
  x[6 * 32 + 17] = nan;
  x[7 * 32 + 31] = nan;
  x[kK + 19 * 32 + 31] = nan;  // the last block of a row, in the group of four
  x[2 * kK + 3 * 32 + 8] = -std::numeric_limits<float>::infinity();
  for (QuantPath path : quant_paths()) {
    SCOPED_TRACE(std::string(path_name(path)));
    expect_reference_quantizer_bytes(path, x, kTokens, kK);
  }
}

TEST(Q8_0Activations, RefusesAKThatIsNotWholeBlocks) {
  Q8_0Activations xq;
  EXPECT_THROW(xq.resize(1, 48), Error);
}

// The types with integer kernels, and for each the K lengths that are whole blocks: one block,
// a few, and a 768-input row.
struct QuantType {
  DType type;
  std::vector<int64_t> ks;
};

const std::vector<QuantType>& quant_types() {
  static const std::vector<QuantType> types = {
      {DType::kQ8_0, {32, 64, 96, 160, 768}}, {DType::kQ4_0, {32, 64, 96, 160, 768}},
      {DType::kQ4_K, {256, 512, 768}},        {DType::kQ5_K, {256, 512, 768}},
      {DType::kQ6_K, {256, 512, 768}},
  };
  return types;
}

// The dequantized activations times the weights as the kernels see them (quant_groups.h), in
// double, with the sum of |terms| of the scaled quants and of the minimums apart: the float
// error of the kernels' sums is relative to that, not to the (smaller) products of the weights.
Reference integer_reference(const QuantCase& c, const Q8_0Activations& xq, bool bias) {
  const QuantGeometry geometry = quant_geometry(c.type);
  const int64_t blocks = c.k / (geometry.groups * kGroupElems);
  const int64_t row_bytes = blocks * geometry.block_bytes;
  Reference out;
  out.y.resize(c.tokens * c.n);
  out.magnitude.resize(c.tokens * c.n);
  for (int64_t t = 0; t < c.tokens; ++t) {
    for (int64_t r = 0; r < c.n; ++r) {
      double acc = bias ? c.bias[r] : 0.0, magnitude = bias ? std::fabs(c.bias[r]) : 0.0;
      for (int64_t b = 0; b < c.k / kGroupElems; ++b) {
        const QuantGroup group =
            decode_group(c.type, &c.w[r * row_bytes + b / geometry.groups * geometry.block_bytes],
                         static_cast<int>(b % geometry.groups));
        for (int i = 0; i < kGroupElems; ++i) {
          const double x = double(xq.scales[t * xq.blocks() + b]) * xq.quants[t * c.k + b * 32 + i];
          const double scaled = double(group.scale[i / 4]) * group.q[i] * x;
          acc += scaled - double(group.min) * x;
          magnitude += std::fabs(scaled) + std::fabs(double(group.min) * x);
          // The integer view is the dequantizer's value, exactly.
          if (t == 0) {
            const double w = double(group.scale[i / 4]) * group.q[i] - group.min;
            EXPECT_EQ(float(w), c.w_widened[r * c.k + b * 32 + i])
                << "row " << r << " input " << b * 32 + i;
          }
        }
      }
      out.y[t * c.n + r] = acc;
      out.magnitude[t * c.n + r] = magnitude;
    }
  }
  return out;
}

TEST(MatmulQuant, MatchesDequantizedReferenceOnEveryPathTypeAndShape) {
  for (QuantPath path : quant_paths()) {
    for (const QuantType& type : quant_types()) {
      for (int64_t k : type.ks) {
        for (int64_t n : {1, 2, 3, 5, 9, 17}) {
          for (int64_t tokens : {1, 2, 3, 5, 9}) {
            for (bool bias : {true, false}) {
              SCOPED_TRACE(::testing::Message()
                           << path_name(path) << " " << dtype_name(type.type) << " K " << k << " N "
                           << n << " T " << tokens << " bias " << bias);
              QuantCase c(type.type, tokens, k, n, static_cast<uint32_t>(k * 31 + n * 7 + tokens));
              const Q8_0Activations xq = quantized(path, c);
              matmul_quant(path, c.args(bias), xq, 0, n);

              // Exactly ggml's semantics: the dequantized activations times the dequantized
              // weights, to float rounding (the scale products and K/8 + 3 sums per lane).
              const Reference rounding = integer_reference(c, xq, bias);
              expect_near_reference(c, rounding, 1.2e-7 * (double(k) / 8 + 8), 1e-6);

              // Against the f32 activations: each x moves by at most d/2 when rounded to a
              // quant, plus 127 * d * 2^-11 from storing d as f16; bound it by 0.57 d * |w|.
              const Reference exact = reference(c, c.x, c.ld_x, bias);
              for (int64_t t = 0; t < tokens; ++t) {
                for (int64_t r = 0; r < n; ++r) {
                  double bound =
                      1e-6 + 1.2e-7 * (double(k) / 8 + 8) * rounding.magnitude[t * n + r];
                  for (int64_t i = 0; i < k; ++i) {
                    bound += 0.57 * xq.scales[t * xq.blocks() + i / 32] *
                             std::fabs(c.w_widened[r * k + i]);
                  }
                  ASSERT_NEAR(c.y[t * c.ld_y + r], exact.y[t * n + r], bound)
                      << "t " << t << " r " << r;
                }
              }
            }
          }
        }
      }
    }
  }
}

TEST(MatmulQuant, EveryPathGivesTheScalarPathsBits) {
  for (const QuantType& type : quant_types()) {
    for (int64_t k : {type.ks.front(), type.ks.back()}) {
      for (int64_t tokens : {1, 6, 9}) {
        QuantCase expected(type.type, tokens, k, 23, 9);
        matmul_quant(QuantPath::kScalar, expected.args(), quantized(QuantPath::kScalar, expected),
                     0, 23);
        for (QuantPath path : quant_paths()) {
          SCOPED_TRACE(::testing::Message() << path_name(path) << " " << dtype_name(type.type)
                                            << " K " << k << " T " << tokens);
          QuantCase actual(type.type, tokens, k, 23, 9);
          matmul_quant(path, actual.args(), quantized(path, actual), 0, 23);
          EXPECT_EQ(actual.y, expected.y);
        }
      }
    }
  }
}

TEST(MatmulQuant, RowAndTokenTilesAreBitIdenticalToOneCall) {
  for (QuantPath path : quant_paths()) {
    for (const QuantType& type : quant_types()) {
      SCOPED_TRACE(::testing::Message() << path_name(path) << " " << dtype_name(type.type));
      const int64_t k = type.ks[1];
      QuantCase whole(type.type, 7, k, 37, 3), tiled(type.type, 7, k, 37, 3);
      const Q8_0Activations xq = quantized(path, whole);
      matmul_quant(path, whole.args(), xq, 0, 37);
      // Tiles that move rows between the row groups and the single-row remainder.
      const int64_t edges[] = {0, 1, 6, 7, 22, 25, 37};
      for (size_t i = 0; i + 1 < std::size(edges); ++i) {
        matmul_quant(path, tiled.args(), xq, edges[i], edges[i + 1]);
      }
      EXPECT_EQ(tiled.y, whole.y);

      // Each token alone (the GEMV path) gives its row of the GEMM.
      for (int64_t t = 0; t < whole.tokens; ++t) {
        QuantCase single(type.type, 1, k, 37, 3);
        const MatmulOperands args = whole.token_args(t, single);
        Q8_0Activations one;
        one.resize(1, k);
        quantize_activations_q8_0(path, args.x, 0, 1, one);
        matmul_quant(path, args, one, 0, 37);
        for (int64_t r = 0; r < 37; ++r) {
          ASSERT_EQ(single.y[r], whole.y[t * whole.ld_y + r]) << "token " << t << " row " << r;
        }
      }
    }
  }
}

TEST(MatmulQuant, RefusesTypesAndShapesItHasNoKernelFor) {
  QuantCase q4_k(DType::kQ4_K, 1, 256, 2, 1);
  const Q8_0Activations xq = quantized(QuantPath::kScalar, q4_k);
  MatmulOperands args = q4_k.args();
  args.w.type = DType::kQ4_1;  // read only through dequantized panels
  EXPECT_THROW(matmul_quant(QuantPath::kScalar, args, xq, 0, 2), Error);
  args.w.type = DType::kQ4_K;
  args.w.cols = args.x.cols = 224;  // K not whole 256-weight blocks
  EXPECT_THROW(matmul_quant(QuantPath::kScalar, args, xq, 0, 2), Error);
  EXPECT_THROW(MatmulInput{args}, Error);
  EXPECT_FALSE(has_quant_kernel(DType::kQ4_1));
  EXPECT_TRUE(has_quant_kernel(DType::kQ6_K));
}

// ---------------------------------------------------------------------------------------------
// Every other readable type: dequantized panels through matmul_f32

TEST(MatmulDequant, GivesMatmulF32OfTheDequantizedWeightsForEveryOtherType) {
  for (DType type : {DType::kF16, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ2_K,
                     DType::kQ3_K, DType::kIQ4_NL, DType::kIQ4_XS}) {
    for (int64_t tokens : {1, 3, 17}) {  // GEMV and sgemm
      SCOPED_TRACE(::testing::Message() << dtype_name(type) << " T " << tokens);
      EXPECT_FALSE(has_quant_kernel(type));
      constexpr int64_t k = 512, n = 45;
      QuantCase c(type, tokens, k, n, 11), widened(type, tokens, k, n, 11);
      // Row ranges that cut panels (8 rows each here) in the middle, through the dispatcher.
      MatmulInput input(c.args());
      input.convert_all();
      const int64_t edges[] = {0, 5, 21, 45};
      for (size_t i = 0; i + 1 < std::size(edges); ++i) matmul(input, edges[i], edges[i + 1]);
      MatmulOperands f32 = widened.args();
      f32.w = WeightView::f32(widened.w_widened.data(), n, k);
      matmul_f32(f32, 0, n);
      // The GEMV computes each row alone: the same bits whatever the panels. A GEMM's kernel
      // (ours or OpenBLAS's, whose edge kernels sum in another order) follows the panel's size,
      // so more tokens agree with the whole matrix's product to float rounding of the terms.
      const Reference exact = reference(widened, widened.x, widened.ld_x, true);
      const auto expect_f32_result = [&] {
        if (tokens <= kGemvMaxTokens) {
          EXPECT_EQ(c.y, widened.y);
          return;
        }
        expect_near_reference(widened, exact, 1e-6, 1e-7);
        expect_near_reference(c, exact, 1e-6, 1e-7);
      };
      expect_f32_result();
      std::fill(c.y.begin(), c.y.end(), kUntouched);
      matmul_dequant(c.args(), 0, n, 8);
      expect_f32_result();
    }
  }
}

// The interleaved layouts' order of float operations (matmul_q8_0.h, matmul_q4.h), written
// plainly from the scalar decoding (quant_groups.h): one sum per output, block (group) after
// block, acc = fma(float(the group's exact integer sum), s_w * d_x, acc), and for the types with
// minimums mins = fma(min, d_x * sum(q_x), mins); y = (acc - mins) + bias.
std::vector<float> block_order_reference(const QuantCase& c, const Q8_0Activations& xq) {
  const QuantGeometry geometry = quant_geometry(c.type);
  const int64_t blocks = c.k / 32;  // groups of 32 per row
  const int64_t row_bytes = blocks / geometry.groups * geometry.block_bytes;
  std::vector<float> y(c.y);
  for (int64_t t = 0; t < c.tokens; ++t) {
    for (int64_t r = 0; r < c.n; ++r) {
      float acc = 0.0f, mins = 0.0f;
      // Q6_K's groups have a scale per half of 16 inputs, each half its own sum and fma, taken
      // per 128 inputs (4 groups) the first halves, then the second ones.
      const bool halves = c.type == DType::kQ6_K;
      const int64_t run = halves ? 4 : 1;  // groups per run
      for (int64_t b0 = 0; b0 < blocks; b0 += run) {
        for (int h = 0; h < (halves ? 2 : 1); ++h) {
          for (int64_t b = b0; b < b0 + run; ++b) {
            const std::byte* block =
                &c.w[r * row_bytes + b / geometry.groups * geometry.block_bytes];
            const QuantGroup group =
                decode_group(c.type, block, static_cast<int>(b % geometry.groups));
            const int first = halves ? 16 * h : 0, end = halves ? first + 16 : 32;
            int32_t isum = 0;
            for (int i = first; i < end; ++i) isum += group.q[i] * xq.quants[t * c.k + b * 32 + i];
            acc = std::fma(static_cast<float>(isum),
                           group.scale[first / 4] * xq.scales[t * blocks + b], acc);
            if (geometry.mins) mins = std::fma(group.min, xq.sums[t * blocks + b], mins);
          }
        }
      }
      y[t * c.ld_y + r] = (acc - mins) + c.bias[r];
    }
  }
  return y;
}

// Every interleaved layout, over K of one and several units, GEMV and GEMM token counts (whole
// and ragged token tiles), N ragged (six full groups of 16, then 8 rows kept as stored, which
// give the bits of W as stored).
TEST(MatmulInterleaved, EveryLayoutGivesTheBlockOrderBits) {
  if (!path_supported(QuantPath::kAvx512Vnni)) GTEST_SKIP() << "no AVX512-VNNI";
  struct Layout {
    DType type;
    WeightLayout layout;
    int64_t ks[2];
  };
  const Layout layouts[] = {{DType::kQ8_0, WeightLayout::kQ8_0Interleaved16, {64, 384}},
                            {DType::kQ4_0, WeightLayout::kQ4_0Interleaved16, {64, 384}},
                            {DType::kQ4_K, WeightLayout::kQ4_KInterleaved16, {256, 768}},
                            {DType::kQ6_K, WeightLayout::kQ6_KInterleaved16, {256, 768}}};
  for (const Layout& l : layouts) {
    for (int64_t k : l.ks) {
      for (int64_t tokens : {1, 3, 6, 8, 13}) {
        SCOPED_TRACE(::testing::Message() << dtype_name(l.type) << " K " << k << " T " << tokens);
        constexpr int64_t n = 104;
        ASSERT_EQ(interleaved_layout(l.type, n, k), l.layout);
        QuantCase c(l.type, tokens, k, n, 17);
        const Q8_0Activations xq = quantized(QuantPath::kAvx512Vnni, c);
        std::vector<float> expected = block_order_reference(c, xq);
        {
          QuantCase stored(l.type, tokens, k, n, 17);
          matmul_quant(QuantPath::kAvx512Vnni, stored.args(), xq, 0, n);
          for (int64_t t = 0; t < tokens; ++t) {
            for (int64_t r = interleaved_rows(n); r < n; ++r) {
              expected[t * c.ld_y + r] = stored.y[t * stored.ld_y + r];
            }
          }
        }
        std::vector<std::byte> rearranged(
            static_cast<size_t>(interleaved_bytes(l.layout, l.type, n, k)));
        interleave(l.layout, l.type, c.w.data(), n, k, 0, 32, rearranged.data());
        interleave(l.layout, l.type, c.w.data(), n, k, 32, n, rearranged.data());
        MatmulOperands args = c.args();
        args.w.data = rearranged.data();
        args.w.layout = l.layout;
        // Row tiles that cut groups at both ends, and whole multi-group tiles.
        const int64_t edges[] = {0, 3, 8, 13, 14, 32, 37, 96, 100, n};
        for (size_t i = 0; i + 1 < std::size(edges); ++i) {
          matmul_quant(QuantPath::kAvx512Vnni, args, xq, edges[i], edges[i + 1]);
        }
        EXPECT_EQ(c.y, expected);
        // One call over every row gives the same bits, and the results are near the f32 product.
        std::vector<float> tiled = c.y;
        std::fill(c.y.begin(), c.y.end(), kUntouched);
        matmul_quant(QuantPath::kAvx512Vnni, args, xq, 0, n);
        EXPECT_EQ(c.y, tiled);
        expect_near_reference(c, reference(c, c.x, c.ld_x, true), 0.02, 1e-3);
      }
    }
  }
}

// In place, the same bytes as a copy, for N a multiple of 16 and not (its last N % 16 rows stay
// as stored); every row reads back as stored.
TEST(MatmulInterleaved, InPlaceGivesTheCopysBytesAndRowsReadBack) {
  if (!path_supported(QuantPath::kAvx512Vnni)) GTEST_SKIP() << "no AVX512-VNNI";
  struct Layout {
    DType type;
    WeightLayout layout;
    int64_t k;
  };
  for (const Layout& l : {Layout{DType::kQ8_0, WeightLayout::kQ8_0Interleaved16, 128},
                          Layout{DType::kQ4_0, WeightLayout::kQ4_0Interleaved16, 192},
                          Layout{DType::kQ4_K, WeightLayout::kQ4_KInterleaved16, 512},
                          Layout{DType::kQ6_K, WeightLayout::kQ6_KInterleaved16, 512}}) {
    for (int64_t n : {48, 40}) {
      SCOPED_TRACE(::testing::Message() << dtype_name(l.type) << " N " << n);
      QuantCase c(l.type, 1, l.k, n, 5);
      ASSERT_TRUE(interleaves_in_place(l.layout, l.type, n, l.k));
      std::vector<std::byte> copy(static_cast<size_t>(interleaved_bytes(l.layout, l.type, n, l.k)));
      interleave(l.layout, l.type, c.w.data(), n, l.k, 0, n, copy.data());
      std::vector<std::byte> in_place = c.w;
      interleave_in_place(l.layout, l.type, in_place.data(), n, l.k, 0, 16);
      interleave_in_place(l.layout, l.type, in_place.data(), n, l.k, 16, n);
      EXPECT_EQ(in_place, copy);
      const int64_t row_bytes = static_cast<int64_t>(*dtype_bytes(l.type, l.k));
      std::vector<std::byte> row(static_cast<size_t>(row_bytes));
      for (int64_t r = 0; r < n; ++r) {
        deinterleave_row(l.layout, l.type, in_place.data(), n, l.k, r, row.data());
        ASSERT_TRUE(std::equal(row.begin(), row.end(), c.w.begin() + r * row_bytes)) << "row " << r;
      }
      EXPECT_THROW(deinterleave_row(l.layout, l.type, in_place.data(), n, l.k, n, row.data()),
                   Error);
      EXPECT_THROW(interleave_in_place(l.layout, l.type, in_place.data(), n, l.k, 8, 16), Error);
      EXPECT_THROW(interleave_in_place(l.layout, l.type, in_place.data(), n, l.k, 0, 24), Error);
    }
  }
}

TEST(MatmulInterleaved, LayoutsRefuseOtherTypesAndShapes) {
  if (!path_supported(QuantPath::kAvx512Vnni)) GTEST_SKIP() << "no AVX512-VNNI";
  EXPECT_EQ(interleaved_layout(DType::kQ4_K, 32, 320), WeightLayout::kRows);  // K % 256
  EXPECT_EQ(interleaved_layout(DType::kQ4_0, 32, 96), WeightLayout::kRows);   // K % 64
  EXPECT_EQ(interleaved_layout(DType::kQ5_K, 32, 256), WeightLayout::kRows);
  std::vector<std::byte> rows(32 * 2 * sizeof(BlockQ4_K));
  std::vector<std::byte> out(static_cast<size_t>(q4_interleaved_bytes(DType::kQ4_K, 32, 512)));
  const auto q4_k = WeightLayout::kQ4_KInterleaved16;
  EXPECT_THROW(interleave(q4_k, DType::kQ4_0, rows.data(), 32, 512, 0, 32, out.data()), Error);
  EXPECT_THROW(interleave(q4_k, DType::kQ4_K, rows.data(), 32, 512, 8, 32, out.data()), Error);
  EXPECT_THROW(interleave(q4_k, DType::kQ4_K, rows.data(), 32, 512, 0, 48, out.data()), Error);
  EXPECT_THROW(interleave(q4_k, DType::kQ4_K, rows.data(), 32, 320, 0, 32, out.data()), Error);
  EXPECT_THROW(interleave(WeightLayout::kQ4_0Interleaved16, DType::kQ4_0, rows.data(), 32, 96, 0,
                          32, out.data()),
               Error);  // K % 64
  EXPECT_EQ(interleaved_unit_inputs(WeightLayout::kQ4_0Interleaved16), 64);
  EXPECT_EQ(interleaved_unit_inputs(WeightLayout::kQ6_KInterleaved16), 256);
  EXPECT_THROW(interleaved_unit_inputs(WeightLayout::kRows), Error);
  EXPECT_EQ(q4_interleaved_bytes(DType::kQ4_0, 40, 128), 3 * 2 * kQ4_0UnitBytes);
  EXPECT_EQ(q4_interleaved_bytes(DType::kQ4_K, 32, 512), 32 * 2 * int64_t{sizeof(BlockQ4_K)});
  // A layout's kernel refuses weights of another type.
  QuantCase c(DType::kQ4_K, 1, 256, 16, 3);
  MatmulOperands args = c.args();
  args.w.layout = WeightLayout::kQ4_0Interleaved16;
  EXPECT_THROW(
      matmul_quant(QuantPath::kAvx512Vnni, args, quantized(QuantPath::kAvx512Vnni, c), 0, 16),
      Error);
}

TEST(MatmulQ8_0, InterleavingRefusesShapesOutsideItsUnits) {
  std::vector<std::byte> rows(32 * 4 * sizeof(BlockQ8_0));
  std::vector<std::byte> out(static_cast<size_t>(q8_0_interleaved_bytes(32, 128)));
  const auto q8_0 = [&](int64_t n, int64_t k, int64_t n_begin, int64_t n_end) {
    interleave(WeightLayout::kQ8_0Interleaved16, DType::kQ8_0, rows.data(), n, k, n_begin, n_end,
               out.data());
  };
  EXPECT_THROW(q8_0(16, 96, 0, 16), Error);   // K % 64
  EXPECT_THROW(q8_0(32, 128, 8, 32), Error);  // range start
  EXPECT_THROW(q8_0(32, 128, 0, 24), Error);  // range end
  EXPECT_THROW(q8_0(32, 128, 0, 48), Error);  // past N
  EXPECT_THROW(q8_0(32, 128, 16, 8), Error);  // backwards
  EXPECT_FALSE(q8_0_interleave_supported(16, 96));
  EXPECT_EQ(q8_0_interleaved_bytes(40, 128), 3 * 2 * kQ8_0UnitBytes);
}

// ---------------------------------------------------------------------------------------------
// BF16

TEST(MatmulBf16, WideningPathMatchesReferenceAtEveryLevelAndShape) {
  for_each_simd_level([](SimdLevel level) {
    for (int64_t k : ragged_lengths()) {
      for (int64_t n : {1, 3, 4, 5, 9, 17}) {
        for (int64_t tokens : {1, 2, 5, 9}) {
          for (bool bias : {true, false}) {
            SCOPED_TRACE(::testing::Message()
                         << "K " << k << " N " << n << " T " << tokens << " bias " << bias);
            QuantCase c(DType::kBF16, tokens, k, n, static_cast<uint32_t>(k + 13 * n + tokens));
            Bf16Activations xp;
            xp.resize(Bf16Path::kWiden, tokens, k);
            prepare_activations_bf16(c.x_view(), 0, tokens, xp);
            dispatch_at(level, Bf16WidenKernel{}, c.args(bias), xp, int64_t{0}, n);
            // Exact products, float accumulation: a few roundings of the partial sums.
            expect_near_reference(c, reference(c, c.x, c.ld_x, bias), 1e-6, 1e-7);
          }
        }
      }
    }
  });
}

TEST(MatmulBf16, SgemmPathMatchesReferenceAcrossPanelsAndRowRanges) {
  // N 300 crosses a 256-row panel; the ranges start and end inside panels.
  for (int64_t k : {7, 64, 100}) {
    for (int64_t tokens : {1, 2, 17}) {
      for (bool bias : {true, false}) {
        SCOPED_TRACE(::testing::Message() << "K " << k << " T " << tokens << " bias " << bias);
        QuantCase c(DType::kBF16, tokens, k, 300, static_cast<uint32_t>(k + tokens));
        const Bf16Activations none;
        const int64_t edges[] = {0, 5, 261, 300};
        for (size_t i = 0; i + 1 < std::size(edges); ++i) {
          matmul_bf16(Bf16Path::kSgemm, c.args(bias), none, edges[i], edges[i + 1]);
        }
        expect_near_reference(c, reference(c, c.x, c.ld_x, bias), 1e-6, 1e-7);
      }
    }
  }
  EXPECT_EQ(bf16_path(1), Bf16Path::kWiden);
  const Bf16Path gemm = bf16_path(kBf16GemmMinTokens);
  if (path_supported(Bf16Path::kAmx)) {
    EXPECT_EQ(gemm, Bf16Path::kAmx);
  } else if (path_supported(Bf16Path::kAvx512Bf16) && __builtin_cpu_is("amd")) {
    EXPECT_EQ(gemm, Bf16Path::kAvx512Bf16);
  } else {
    EXPECT_EQ(gemm, Bf16Path::kSgemm);
  }
}

TEST(MatmulBf16, WideningPathTilesAreBitIdenticalToOneCall) {
  // 6, 8 and 9 tokens: decode batches in groups of four tokens, the last one short (6, 9) or
  // whole (8). Every token equals its GEMV, whatever the tiling of rows.
  for_each_simd_level([](SimdLevel level) {
    for (int64_t tokens : {6, 8, 9}) {
      for (int64_t k : {7, 64, 100}) {
        SCOPED_TRACE(::testing::Message() << "T " << tokens << " K " << k);
        QuantCase whole(DType::kBF16, tokens, k, 37, 2), tiled(DType::kBF16, tokens, k, 37, 2);
        Bf16Activations xp;
        xp.resize(Bf16Path::kWiden, tokens, k);
        prepare_activations_bf16(whole.x_view(), 0, tokens, xp);
        dispatch_at(level, Bf16WidenKernel{}, whole.args(), xp, int64_t{0}, int64_t{37});
        const int64_t edges[] = {0, 1, 6, 7, 22, 25, 37};
        for (size_t i = 0; i + 1 < std::size(edges); ++i) {
          dispatch_at(level, Bf16WidenKernel{}, tiled.args(), xp, edges[i], edges[i + 1]);
        }
        EXPECT_EQ(tiled.y, whole.y);
        for (int64_t t = 0; t < tokens; ++t) {
          QuantCase single(DType::kBF16, 1, k, 37, 2);
          const MatmulOperands args = whole.token_args(t, single);
          Bf16Activations one;
          one.resize(Bf16Path::kWiden, 1, k);
          prepare_activations_bf16(args.x, 0, 1, one);
          dispatch_at(level, Bf16WidenKernel{}, args, one, int64_t{0}, int64_t{37});
          for (int64_t r = 0; r < 37; ++r) {
            ASSERT_EQ(single.y[r], whole.y[t * whole.ld_y + r]) << "token " << t << " row " << r;
          }
        }
      }
    }
  });
}

// Where the paths that round the activations to bf16 keep input i of token t:
// [padded_tokens / 16, padded_k / 2, 16, 2], pairs of inputs by token.
int64_t pair_layout_at(const Bf16Activations& xp, int64_t t, int64_t i) {
  return ((t / 16 * xp.padded_k / 2 + i / 2) * 16 + t % 16) * 2 + i % 2;
}

// A path that rounds the activations to bf16 (kAvx512Bf16, kAmx) on one case: the prepared
// activations hold f32_to_bf16 of every input, and zeros in the padding, in the pair layout;
// the product matches the double reference of the rounded activations and, within 2^-8, that
// of the f32 ones.
void expect_bf16_activation_path(Bf16Path path, QuantCase& c) {
  Bf16Activations xp;
  xp.resize(path, c.tokens, c.k);
  prepare_activations_bf16(c.x_view(), 0, c.tokens, xp);
  std::vector<float> x_rounded(c.tokens * c.k);
  for (int64_t t = 0; t < c.tokens; ++t) {
    for (int64_t i = 0; i < xp.padded_k; ++i) {
      const uint16_t bits = i < c.k ? f32_to_bf16(c.x[t * c.ld_x + i]) : 0;
      ASSERT_EQ(xp.bf16[pair_layout_at(xp, t, i)], bits) << "t " << t << " i " << i;
      if (i < c.k) x_rounded[t * c.k + i] = bf16_to_f32(bits);
    }
  }
  matmul_bf16(path, c.args(), xp, 0, c.n);
  // Products of bf16 values are exact in f32: only the accumulation rounds.
  expect_near_reference(c, reference(c, x_rounded, c.k, true), 1e-6, 1e-7);
  // Against the f32 activations: each rounded by at most 2^-9 relative.
  expect_near_reference(c, reference(c, c.x, c.ld_x, true), 1.0 / 256, 1e-6);
}

TEST(MatmulBf16, Avx512Bf16PathMatchesReferenceWithBf16Activations) {
  if (!path_supported(Bf16Path::kAvx512Bf16)) GTEST_SKIP() << "no AVX512-BF16";
  for (int64_t k : ragged_lengths()) {
    for (int64_t n : {1, 3, 4, 5, 9, 17}) {
      // Within one 16-token group, and over three register-block groups and a ragged one.
      for (int64_t tokens : {1, 2, 5, 9, 16, 50}) {
        SCOPED_TRACE(::testing::Message() << "K " << k << " N " << n << " T " << tokens);
        QuantCase c(DType::kBF16, tokens, k, n, static_cast<uint32_t>(3 * k + n + tokens));
        expect_bf16_activation_path(Bf16Path::kAvx512Bf16, c);
      }
    }
  }
}

// With an odd K a row's last input has no partner: the kernel must read it alone, not as a pair
// with the next row's first weight (an infinity here, which would turn a zero activation's
// product into NaN) or, for the last row, with the two bytes past W (which ASan reports).
TEST(MatmulBf16, Avx512Bf16OddKReadsNothingPastARow) {
  if (!path_supported(Bf16Path::kAvx512Bf16)) GTEST_SKIP() << "no AVX512-BF16";
  for (int64_t k : {1, 3, 33, 767}) {
    SCOPED_TRACE(::testing::Message() << "K " << k);
    constexpr int64_t kRows = 3, kTokens = 17;
    QuantCase c(DType::kBF16, kTokens, k, kRows, static_cast<uint32_t>(k));
    const uint16_t infinity = 0x7f80;
    std::memcpy(&c.w[1 * k * sizeof(uint16_t)], &infinity, sizeof infinity);  // row 1, input 0
    Bf16Activations xp;
    xp.resize(Bf16Path::kAvx512Bf16, kTokens, k);
    prepare_activations_bf16(c.x_view(), 0, kTokens, xp);
    matmul_bf16(Bf16Path::kAvx512Bf16, c.args(), xp, 0, kRows);
    for (int64_t t = 0; t < kTokens; ++t) {
      EXPECT_TRUE(std::isfinite(c.y[t * c.ld_y + 0])) << "token " << t;
      EXPECT_TRUE(std::isfinite(c.y[t * c.ld_y + 2])) << "token " << t;
    }
  }
}

TEST(MatmulBf16, Avx512Bf16ActivationRoundingKeepsNaNsAndTies) {
  if (!path_supported(Bf16Path::kAvx512Bf16)) GTEST_SKIP() << "no AVX512-BF16";
  const float values[] = {1.0f + 0x1.0p-8f,
                          1.0f + 0x1.8p-8f,
                          -3.0f,
                          0.0f,
                          -0.0f,
                          std::numeric_limits<float>::infinity(),
                          std::numeric_limits<float>::quiet_NaN(),
                          0x1.0p-130f,
                          65504.0f};
  std::vector<float> x(std::begin(values), std::end(values));
  Bf16Activations xp;
  xp.resize(Bf16Path::kAvx512Bf16, 1, static_cast<int64_t>(x.size()));
  prepare_activations_bf16({x.data(), 1, static_cast<int64_t>(x.size()), 0}, 0, 1, xp);
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(xp.bf16[pair_layout_at(xp, 0, static_cast<int64_t>(i))], f32_to_bf16(x[i])) << i;
  }
}

// A path's row tiles give one call's bits. The activations are prepared in two token ranges, as
// the engine's tiles do.
void expect_row_tiles_bit_identical(Bf16Path path, int64_t tokens, int64_t k, int64_t n,
                                    std::initializer_list<int64_t> edges) {
  QuantCase whole(DType::kBF16, tokens, k, n, 4), tiled(DType::kBF16, tokens, k, n, 4);
  Bf16Activations xp;
  xp.resize(path, tokens, k);
  prepare_activations_bf16(whole.x_view(), 0, tokens / 2, xp);
  prepare_activations_bf16(whole.x_view(), tokens / 2, tokens, xp);
  matmul_bf16(path, whole.args(), xp, 0, n);
  const std::vector<int64_t> cuts(edges);
  for (size_t i = 0; i + 1 < cuts.size(); ++i) {
    matmul_bf16(path, tiled.args(), xp, cuts[i], cuts[i + 1]);
  }
  EXPECT_EQ(tiled.y, whole.y);
}

TEST(MatmulBf16, Avx512Bf16TilesAreBitIdenticalToOneCall) {
  if (!path_supported(Bf16Path::kAvx512Bf16)) GTEST_SKIP() << "no AVX512-BF16";
  expect_row_tiles_bit_identical(Bf16Path::kAvx512Bf16, 7, 100, 37, {0, 1, 6, 7, 22, 25, 37});
}

TEST(MatmulBf16, AmxPathMatchesReferenceWithBf16Activations) {
  if (!path_supported(Bf16Path::kAmx)) GTEST_SKIP() << "no AMX-BF16";
  // K past and short of whole tiles; N with whole 32-row blocks read in place and ragged ends
  // copied, and past one 256-row panel; tokens in whole and partial 16-token tiles and 32-token
  // blocks (the activations are converted 16 tokens at a time, the rest one by one).
  for (int64_t k : {32, 64, 100, 160}) {
    for (int64_t n : {1, 17, 40, 70, 290}) {
      for (int64_t tokens : {1, 15, 16, 33, 48, 67}) {
        SCOPED_TRACE(::testing::Message() << "K " << k << " N " << n << " T " << tokens);
        QuantCase c(DType::kBF16, tokens, k, n, static_cast<uint32_t>(5 * k + n + tokens));
        expect_bf16_activation_path(Bf16Path::kAmx, c);
      }
    }
  }
}

TEST(MatmulBf16, AmxPackedWeightsGiveTheBitsOfWeightsReadInPlace) {
  if (!path_supported(Bf16Path::kAmx)) GTEST_SKIP() << "no AMX-BF16";
  // From 192 tokens on W's panels are packed into tiles first; with fewer, whole panels are read
  // in place. The tiles and the sum order are the same, so every token gets the same bits. N
  // spans a whole 256-row panel and a ragged one.
  const int64_t many = 200, few = 40, k = 128, n = 300;
  QuantCase all(DType::kBF16, many, k, n, 11), first(DType::kBF16, few, k, n, 11);
  expect_bf16_activation_path(Bf16Path::kAmx, all);
  first.x.assign(all.x.begin(), all.x.begin() + few * all.ld_x);  // [few, ld_x]
  Bf16Activations xp;
  xp.resize(Bf16Path::kAmx, few, k);
  prepare_activations_bf16(first.x_view(), 0, few, xp);
  matmul_bf16(Bf16Path::kAmx, first.args(), xp, 0, n);
  const std::vector<float> head(all.y.begin(), all.y.begin() + few * all.ld_y);
  EXPECT_EQ(first.y, head);
}

TEST(MatmulBf16, AmxTilesAreBitIdenticalToOneCall) {
  if (!path_supported(Bf16Path::kAmx)) GTEST_SKIP() << "no AMX-BF16";
  expect_row_tiles_bit_identical(Bf16Path::kAmx, 40, 128, 100, {0, 1, 31, 32, 45, 77, 96, 100});
}

TEST(MatmulBf16, RefusesActivationsPreparedForAnotherShapeOrPath) {
  for (Bf16Path path : {Bf16Path::kWiden, Bf16Path::kAvx512Bf16, Bf16Path::kAmx}) {
    if (!path_supported(path)) continue;
    SCOPED_TRACE(std::string(path_name(path)));
    QuantCase c(DType::kBF16, 20, 64, 8, 9);
    Bf16Activations fewer_tokens, other_k, other_path;
    fewer_tokens.resize(path, 19, 64);
    other_k.resize(path, 20, 96);
    // kSgemm's layout is empty: any kernel reading it would read nothing that is there.
    other_path.resize(Bf16Path::kSgemm, 20, 64);
    EXPECT_THROW(matmul_bf16(path, c.args(), fewer_tokens, 0, 8), Error);
    EXPECT_THROW(matmul_bf16(path, c.args(), other_k, 0, 8), Error);
    EXPECT_THROW(matmul_bf16(path, c.args(), other_path, 0, 8), Error);
    // Converting rows past those resized for would write past them.
    EXPECT_THROW(prepare_activations_bf16(c.x_view(), 0, 20, fewer_tokens), Error);
    EXPECT_THROW(prepare_activations_bf16(c.x_view(), -1, 5, fewer_tokens), Error);
  }
}

// The AMX tile layout (matmul_bf16.h), as prepared at load: a copy and in place give the same
// bytes, every row reads back as stored, and shapes outside it are refused.
TEST(MatmulBf16Tiles, InPlaceGivesTheCopysBytesAndEveryRowReadsBack) {
  if (!bf16_tiles_supported(16, 32)) GTEST_SKIP() << "this CPU keeps bf16 rows as stored";
  for (int64_t k : {32, 64, 160}) {
    for (int64_t n : {16, 17, 31, 40, 100}) {
      SCOPED_TRACE(::testing::Message() << "K " << k << " N " << n);
      constexpr auto kTiles = WeightLayout::kBf16AmxTiles16;
      ASSERT_EQ(interleaved_layout(DType::kBF16, n, k), kTiles);
      ASSERT_TRUE(interleaves_in_place(kTiles, DType::kBF16, n, k));
      const QuantCase c(DType::kBF16, 1, k, n, static_cast<uint32_t>(k + n));
      std::vector<std::byte> copy(
          static_cast<size_t>(interleaved_bytes(kTiles, DType::kBF16, n, k)));
      ASSERT_EQ(copy.size(), c.w.size());
      interleave(kTiles, DType::kBF16, c.w.data(), n, k, 0, n, copy.data());
      std::vector<std::byte> in_place = c.w;
      interleave_in_place(kTiles, DType::kBF16, in_place.data(), n, k, 0, 16);
      interleave_in_place(kTiles, DType::kBF16, in_place.data(), n, k, 16, n);
      EXPECT_EQ(in_place, copy);
      if (k > kBf16TileInputs) {
        EXPECT_NE(in_place, c.w);  // the groups did move (one tile along K is its rows)
      }
      std::vector<std::byte> row(static_cast<size_t>(2 * k));
      for (int64_t r = 0; r < n; ++r) {
        deinterleave_row(kTiles, DType::kBF16, in_place.data(), n, k, r, row.data());
        ASSERT_TRUE(std::equal(row.begin(), row.end(), c.w.begin() + 2 * r * k)) << "row " << r;
      }
    }
  }
  // Fewer than 16 rows or K not whole tiles: rows as stored.
  EXPECT_EQ(interleaved_layout(DType::kBF16, 15, 64), WeightLayout::kRows);
  EXPECT_EQ(interleaved_layout(DType::kBF16, 64, 100), WeightLayout::kRows);
  std::vector<std::byte> w(2 * 32 * 100);
  EXPECT_THROW(
      interleave_in_place(WeightLayout::kBf16AmxTiles16, DType::kBF16, w.data(), 32, 100, 0, 32),
      Error);
}

// Every path that reads the tile layout (kAmx, kAvx512Bf16, kWiden at every SIMD level, the
// reference) gives the bits it gives W as stored, over row ranges that cut groups, K of one and
// many tiles, GEMV, decode-batch, ragged GEMM and packed-GEMM token counts, and N with rows past
// the groups. The layout is plain data: the paths every CPU has are checked on every CPU.
TEST(MatmulBf16Tiles, EveryPathReadingTheLayoutGivesTheBitsOfRowsAsStored) {
  constexpr auto kTiles = WeightLayout::kBf16AmxTiles16;
  // A batch of 2..16 tokens reads a group in spans of 8 tiles (256 inputs): K 160 is less than
  // one, 256 one, 1056 four and a short one. 17 and more tokens take the register blocks.
  for (int64_t k : {32, 96, 160, 256, 1056}) {
    for (int64_t n : {17, 40, 70, 290}) {
      std::vector<int64_t> edges = {0, 3, 16, 37, 64, 69, 256, 261};
      std::erase_if(edges, [&](int64_t e) { return e >= n; });
      edges.push_back(n);
      for (int64_t tokens : {1, 2, 3, 5, 8, 9, 15, 16, 17, 33, 67, 200}) {
        for (Bf16Path path :
             {Bf16Path::kScalar, Bf16Path::kWiden, Bf16Path::kAvx512Bf16, Bf16Path::kAmx}) {
          const bool gemm = path == Bf16Path::kAvx512Bf16 || path == Bf16Path::kAmx;
          if (!path_supported(path) || (gemm && tokens < kBf16GemmMinTokens)) continue;
          if (path == Bf16Path::kScalar && tokens > 16) continue;  // the double loop is slow
          const auto each_level = [&](auto&& body) {
            if (path == Bf16Path::kWiden) return for_each_simd_level(body);
            body(simd_level());
          };
          each_level([&](SimdLevel level) {
            // Both readers of a decode batch wherever they compile (spans: AVX-512), whichever
            // the engine would pick on this CPU.
            std::vector<Bf16TileBatch> batches = {Bf16TileBatch::kRegisterBlocks};
            if (path == Bf16Path::kWiden && level == SimdLevel::kAvx512) {
              batches.push_back(Bf16TileBatch::kSpans);
            }
            for (Bf16TileBatch batch : batches) {
              SCOPED_TRACE(::testing::Message()
                           << path_name(path) << " " << path_name(level) << " K " << k << " N " << n
                           << " T " << tokens << " batch " << static_cast<int>(batch));
              QuantCase rows(DType::kBF16, tokens, k, n, static_cast<uint32_t>(k + n + tokens));
              QuantCase tiles(DType::kBF16, tokens, k, n, static_cast<uint32_t>(k + n + tokens));
              interleave_in_place(kTiles, DType::kBF16, tiles.w.data(), n, k, 0, n);
              Bf16Activations xp;
              xp.resize(path, tokens, k);
              prepare_activations_bf16(rows.x_view(), 0, tokens, xp);
              const auto run = [&](MatmulOperands args, int64_t begin, int64_t end) {
                if (path == Bf16Path::kWiden) {
                  return dispatch_at(level, Bf16WidenKernel{batch}, args, xp, begin, end);
                }
                matmul_bf16(path, args, xp, begin, end);
              };
              run(rows.args(), 0, n);
              MatmulOperands args = tiles.args();
              args.w.layout = kTiles;
              for (size_t i = 0; i + 1 < edges.size(); ++i) run(args, edges[i], edges[i + 1]);
              EXPECT_EQ(tiles.y, rows.y);
            }
          });
        }
      }
    }
  }
}

TEST(MatmulBf16Tiles, PathsThatReadRowsAsStoredRefuseTheLayout) {
  QuantCase c(DType::kBF16, 20, 64, 32, 3);
  MatmulOperands args = c.args();
  args.w.layout = WeightLayout::kBf16AmxTiles16;
  Bf16Activations none;
  EXPECT_THROW(matmul_bf16(Bf16Path::kSgemm, args, none, 0, 32), Error);
  Bf16Activations xp;
  xp.resize(Bf16Path::kWiden, 20, 100);
  args.w.cols = args.x.cols = 100;  // not whole tiles
  EXPECT_THROW(matmul_bf16(Bf16Path::kWiden, args, xp, 0, 32), Error);
  if (!path_supported(Bf16Path::kAvx512Bf16)) return;
  xp.resize(Bf16Path::kAvx512Bf16, 20, 100);
  EXPECT_THROW(matmul_bf16(Bf16Path::kAvx512Bf16, args, xp, 0, 32), Error);
}

// ---------------------------------------------------------------------------------------------
// The entry point

TEST(Matmul, DispatchesByWeightType) {
  for (DType type : {DType::kF32, DType::kBF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_K,
                     DType::kQ5_K, DType::kQ6_K, DType::kQ3_K, DType::kF16}) {
    for (int64_t tokens : {1, 5}) {
      SCOPED_TRACE(::testing::Message() << dtype_name(type) << " T " << tokens);
      QuantCase c(type, tokens, 256, 11, 8);
      MatmulInput input(c.args());
      // Converted in two token ranges, as the runtime does on two threads.
      input.convert(0, tokens / 2);
      input.convert(tokens / 2, tokens);
      matmul(input, 0, 5);
      matmul(input, 5, 11);
      const double rel = type == DType::kF32 ? 1e-6 : (type == DType::kBF16 ? 1.0 / 256 : 0.02);
      expect_near_reference(c, reference(c, c.x, c.ld_x, true), rel, 1e-5);
    }
  }
}

TEST(Matmul, RefusesAKThatIsNotWholeBlocksOfTheWeightType) {
  QuantCase c(DType::kQ4_1, 1, 64, 2, 1);
  MatmulOperands args = c.args();
  args.w.cols = args.x.cols = 48;
  EXPECT_THROW(MatmulInput input(args), Error);
  EXPECT_THROW(matmul_dequant(args, 0, 2), Error);
}

}  // namespace
}  // namespace mamba2::kernels
