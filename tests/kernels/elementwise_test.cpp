#include "kernels/elementwise.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "mamba2/npy.h"
#include "runtime/formats/safetensors.h"
#include "tests/kernels/kernel_test_util.h"
#include "tests/kernels/tiny_fixture.h"
#include "tests/support/test_paths.h"

namespace mamba2::kernels {
namespace {

using testing::expect_close;
using testing::for_each_simd_level;
using testing::ragged_lengths;
using testing::random_vector;

using testing::checkpoint_f32;
using testing::kConvDim;
using testing::kDInner;
using testing::kDInProj;
using testing::kDModel;
using testing::kHeads;
using testing::kTraceTokens;
using testing::layer_tensor;
using testing::trace_array;

constexpr float kInf = std::numeric_limits<float>::infinity();

float silu(double v) { return static_cast<float>(v / (1.0 + std::exp(-v))); }

TEST(DtSoftplus, MatchesReferenceAtEveryLevelAndLength) {
  for_each_simd_level([](SimdLevel level) {
    for (int64_t heads : ragged_lengths()) {
      SCOPED_TRACE(heads);
      const int64_t tokens = 3, ld_in = heads + 9;
      // Wide enough to cross the threshold at 20 and reach exp's underflow side.
      const auto dt_in = random_vector(tokens * ld_in, 1, -40.0f, 40.0f);  // [T, ld_in]
      const auto bias = random_vector(heads, 2, -2.0f, 2.0f);              // [heads]
      for (auto [lo, hi] : {std::pair{0.0f, kInf}, std::pair{0.001f, 10.0f}}) {
        std::vector<float> expected(tokens * heads), actual(tokens * heads);
        ref::dt_softplus(dt_in.data(), ld_in, bias.data(), lo, hi, expected.data(), tokens, heads);
        dispatch_at(level, DtSoftplusKernel{}, dt_in.data(), ld_in, bias.data(), lo, hi,
                    actual.data(), tokens, heads);
        expect_close(actual, expected, 1e-30f, 1e-6f);
      }
    }
  });
}

TEST(DtSoftplus, KnownValues) {
  for_each_simd_level([](SimdLevel level) {
    const float dt_in[6] = {0.0f, 30.0f, 20.5f, -1.0f, 1.0f, -50.0f};
    const float bias[6] = {0.0f, 0.0f, 0.0f, 0.0f, 1.0f, 0.0f};
    float out[6];
    dispatch_at(level, DtSoftplusKernel{}, dt_in, int64_t{6}, bias, 0.0f, kInf, out, int64_t{1},
                int64_t{6});
    EXPECT_NEAR(out[0], std::log(2.0f), 1e-7f);  // softplus(0) = ln 2
    EXPECT_EQ(out[1], 30.0f);                    // above the threshold: the identity
    EXPECT_EQ(out[2], 20.5f);
    EXPECT_NEAR(out[3], 0.31326168751822286f, 1e-7f);  // log1p(e^-1)
    EXPECT_NEAR(out[4], 2.1269280110429727f, 2e-7f);   // bias added: softplus(2)
    EXPECT_NEAR(out[5], 1.9287498479639178e-22f, 1e-28f);

    // Clamped to [0.7, 25]: ln 2 = 0.693 rises to 0.7 and 30 falls to 25.
    dispatch_at(level, DtSoftplusKernel{}, dt_in, int64_t{6}, bias, 0.7f, 25.0f, out, int64_t{1},
                int64_t{6});
    EXPECT_EQ(out[0], 0.7f);
    EXPECT_EQ(out[1], 25.0f);
    EXPECT_EQ(out[2], 20.5f);
    EXPECT_EQ(out[3], 0.7f);
    EXPECT_NEAR(out[4], 2.1269280110429727f, 2e-7f);
  });
}

TEST(DtSoftplus, RowStrideAndTokens) {
  // Two tokens, two heads, rows 3 apart: dt_out is packed [T, heads].
  const float dt_in[6] = {0.0f, 1.0f, 99.0f, 21.0f, 22.0f, 99.0f};
  const float bias[2] = {0.0f, 0.0f};
  float out[4];
  dt_softplus(dt_in, 3, bias, 0.0f, kInf, out, 2, 2);
  EXPECT_NEAR(out[0], std::log(2.0f), 1e-7f);
  EXPECT_NEAR(out[1], std::log1p(std::exp(1.0f)), 1e-6f);
  EXPECT_EQ(out[2], 21.0f);
  EXPECT_EQ(out[3], 22.0f);
}

TEST(GatedRmsNorm, MatchesReferenceAtEveryLevelAndShape) {
  for_each_simd_level([](SimdLevel level) {
    for (int64_t d : ragged_lengths()) {
      for (int64_t group : {d, d / 2, int64_t{7}, int64_t{0}}) {
        if (group == 0 && d != 1) continue;  // group_size 0 means one group: covered by d
        for (bool norm_before_gate : {false, true}) {
          for (bool with_weight : {true, false}) {
            SCOPED_TRACE(::testing::Message() << "d " << d << " group " << group << " nbg "
                                              << norm_before_gate << " w " << with_weight);
            const auto y = random_vector(d, 3, -4.0f, 4.0f);
            const auto z = random_vector(d, 4, -6.0f, 6.0f);
            const auto w = random_vector(d, 5, 0.5f, 1.5f);
            const float* w_ptr = with_weight ? w.data() : nullptr;
            std::vector<float> expected(d), actual(d);
            ref::gated_rmsnorm(y.data(), z.data(), w_ptr, expected.data(), d, group, 1e-5f,
                               norm_before_gate);
            dispatch_at(level, GatedRmsNormKernel{}, y.data(), z.data(), w_ptr, actual.data(), d,
                        group, 1e-5f, norm_before_gate);
            expect_close(actual, expected, 1e-6f, 2e-6f);
            // out may alias y.
            std::vector<float> in_place = y;
            dispatch_at(level, GatedRmsNormKernel{}, in_place.data(), z.data(), w_ptr,
                        in_place.data(), d, group, 1e-5f, norm_before_gate);
            EXPECT_EQ(in_place, actual);
          }
        }
      }
    }
  });
}

TEST(GatedRmsNorm, GroupsAreIndependentAndBitIdenticalToSeparateCalls) {
  for_each_simd_level([](SimdLevel level) {
    const int64_t d = 3 * 37, group = 37;
    const auto y = random_vector(d, 6, -2.0f, 2.0f);
    const auto z = random_vector(d, 7, -2.0f, 2.0f);
    const auto w = random_vector(d, 8);
    for (bool norm_before_gate : {false, true}) {
      std::vector<float> whole(d), pieces(d);
      dispatch_at(level, GatedRmsNormKernel{}, y.data(), z.data(), w.data(), whole.data(), d, group,
                  1e-5f, norm_before_gate);
      for (int64_t g = 0; g < d; g += group) {
        dispatch_at(level, GatedRmsNormKernel{}, y.data() + g, z.data() + g, w.data() + g,
                    pieces.data() + g, group, group, 1e-5f, norm_before_gate);
      }
      EXPECT_EQ(pieces, whole);
    }
  });
}

TEST(GatedRmsNorm, KnownValues) {
  // Two groups of two. norm_before_gate = false: q = y * silu(z), each group scaled by its RMS.
  const float y[4] = {3.0f, 4.0f, 1.0f, -1.0f};
  const float z[4] = {1.0f, 1.0f, 0.0f, 2.0f};
  const float w[4] = {1.0f, 2.0f, 1.0f, 1.0f};
  float out[4];
  gated_rmsnorm(y, z, w, out, 4, 2, 0.0f, false);
  const double s1 = silu(1.0), s2 = silu(2.0);
  // Group 0: q = 0.7311 * [3, 4], rms = 0.7311 * sqrt(12.5).
  EXPECT_NEAR(out[0], 3.0 / std::sqrt(12.5), 1e-6);
  EXPECT_NEAR(out[1], 8.0 / std::sqrt(12.5), 1e-6);
  // Group 1: q = [0, -silu(2)], rms = silu(2) / sqrt(2).
  EXPECT_NEAR(out[2], 0.0, 1e-7);
  EXPECT_NEAR(out[3], -std::sqrt(2.0), 1e-6);

  // norm_before_gate = true: out = y / rms(y) * w * silu(z).
  gated_rmsnorm(y, z, w, out, 4, 2, 0.0f, true);
  EXPECT_NEAR(out[0], 3.0 / std::sqrt(12.5) * s1, 1e-6);
  EXPECT_NEAR(out[1], 8.0 / std::sqrt(12.5) * s1, 1e-6);
  EXPECT_NEAR(out[2], 0.0, 1e-7);  // silu(0) = 0
  EXPECT_NEAR(out[3], -1.0 * s2, 1e-6);

  // No norm weight: only the gate.
  gated_rmsnorm(y, z, nullptr, out, 4, 2, 1e-5f, false);
  EXPECT_NEAR(out[0], 3.0 * s1, 1e-6);
  EXPECT_NEAR(out[3], -s2, 1e-6);
}

TEST(SiluMul, MatchesReferenceAtEveryLevelAndLength) {
  for_each_simd_level([](SimdLevel level) {
    for (int64_t n : ragged_lengths()) {
      SCOPED_TRACE(n);
      const auto z = random_vector(n, 9, -20.0f, 20.0f);
      const auto x = random_vector(n, 10, -2.0f, 2.0f);
      std::vector<float> expected(n), actual(n);
      ref::silu_mul(z.data(), x.data(), expected.data(), n);
      dispatch_at(level, SiluMulKernel{}, z.data(), x.data(), actual.data(), n);
      expect_close(actual, expected, 1e-7f, 1e-6f);
    }
  });
}

TEST(SiluMul, KnownValues) {
  const float z[4] = {0.0f, 1.0f, -1.0f, -100.0f};
  const float x[4] = {5.0f, 2.0f, 1.0f, 1.0f};
  float out[4];
  silu_mul(z, x, out, 4);
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_NEAR(out[1], 1.4621171572600098f, 1e-6f);   // 2 * silu(1)
  EXPECT_NEAR(out[2], -0.2689414213699951f, 1e-7f);  // silu(-1)
  EXPECT_NEAR(out[3], 0.0f, 1e-30f);                 // exp(100) overflows: -100 / inf = -0
}

TEST(ElementwiseTrace, DtAndGatedNormReproduceTheTinyFixture) {
  const CheckpointTensors model =
      read_safetensors(mamba2::testing::fixture_dir("tiny") / "model.safetensors");
  for (int64_t layer : {0, 1}) {
    SCOPED_TRACE(layer);
    const NpyArray zxbcdt = trace_array(layer, "zxbcdt");       // [40, 296]
    const NpyArray dt = trace_array(layer, "dt");               // [40, 8]
    const NpyArray y_ssm = trace_array(layer, "y_ssm");         // [40, 128]
    const NpyArray gated = trace_array(layer, "y_gated_norm");  // [40, 128]
    ASSERT_EQ(zxbcdt.shape, (std::vector<int64_t>{kTraceTokens, kDInProj}));
    ASSERT_EQ(dt.shape, (std::vector<int64_t>{kTraceTokens, kHeads}));
    ASSERT_EQ(y_ssm.shape, (std::vector<int64_t>{kTraceTokens, kDInner}));
    ASSERT_EQ(gated.shape, (std::vector<int64_t>{kTraceTokens, kDInner}));
    const auto dt_bias = checkpoint_f32(model, layer_tensor(layer, "dt_bias"));   // [8]
    const auto norm = checkpoint_f32(model, layer_tensor(layer, "norm.weight"));  // [128]
    ASSERT_EQ(dt_bias.size(), size_t{kHeads});
    ASSERT_EQ(norm.size(), size_t{kDInner});
    for_each_simd_level([&](SimdLevel level) {
      std::vector<float> dt_out(kTraceTokens * kHeads);
      dispatch_at(level, DtSoftplusKernel{}, zxbcdt.data.data() + kDInner + kConvDim, kDInProj,
                  dt_bias.data(), 0.0f, kInf, dt_out.data(), kTraceTokens, kHeads);
      expect_close(dt_out, dt.data, 1e-7f, 1e-6f);

      std::vector<float> out(kTraceTokens * kDInner);
      for (int64_t t = 0; t < kTraceTokens; ++t) {
        dispatch_at(level, GatedRmsNormKernel{}, y_ssm.data.data() + t * kDInner,
                    zxbcdt.data.data() + t * kDInProj, norm.data(), out.data() + t * kDInner,
                    kDInner, kDInner, 1e-5f, false);
      }
      expect_close(out, gated.data, 1e-5f, 1e-5f);
    });
  }
}

}  // namespace
}  // namespace mamba2::kernels
