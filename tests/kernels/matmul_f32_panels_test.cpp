#include "kernels/matmul_f32_panels.h"

#include <cmath>
#include <cstdlib>
#include <thread>

#include "kernels/aligned_vector.h"
#include "kernels/matmul.h"
#include "kernels/simd.h"
#include "mamba2/error.h"
#include "mamba2/threading_context.h"
#include "tests/kernels/kernel_test_util.h"
#include "tests/kernels/matmul_case.h"

namespace mamba2::kernels {
namespace {

using testing::for_each_simd_level;
using testing::random_vector;

// One projection with W both as stored and in 16-row panels.
struct PanelCase : testing::MatmulCase {
  AlignedVector<float> panels;  // f32_panels_floats(N, K)

  PanelCase(int64_t t, int64_t k_in, int64_t n_out, uint32_t seed)
      : MatmulCase(t, k_in, n_out, seed) {
    panels.assign(f32_panels_floats(n, k), -9.0f);
    pack_f32_panels(w.data(), n, k, 0, n, panels.data());
  }

  MatmulOperands args(bool packed, bool with_bias = true) {
    MatmulOperands operands = MatmulCase::args(with_bias);
    if (packed) {
      operands.w = {DType::kF32, reinterpret_cast<const std::byte*>(panels.data()), n, k,
                    WeightLayout::kF32Panels16};
    }
    return operands;
  }
};

// The double reference differs from a float FMA chain by roundings of its partial sums.
void expect_close_to_reference(const PanelCase& actual, const PanelCase& expected, bool with_bias) {
  testing::expect_close_to_reference(actual, expected, with_bias, 2e-6);
}

TEST(PanelGemm, MatchesReferenceAtEveryLevelOverRaggedShapes) {
  for_each_simd_level([](SimdLevel level) {
    // K crossing the 256-input blocks; N short of, at and past whole panels and register blocks.
    for (int64_t k : {1, 7, 100, 300}) {
      for (int64_t n : {5, 17, 50}) {
        for (int64_t tokens = 1; tokens <= 33; ++tokens) {
          const bool with_bias = (tokens + n) % 2 == 0;
          SCOPED_TRACE(::testing::Message() << "T " << tokens << " K " << k << " N " << n);
          PanelCase expected(tokens, k, n, 3), actual(tokens, k, n, 3);
          ref::matmul_f32(expected.args(false, with_bias), 0, n);
          dispatch_at(level, PanelGemmKernel{}, actual.args(true, with_bias), int64_t{0}, n);
          expect_close_to_reference(actual, expected, with_bias);
        }
      }
    }
  });
}

TEST(PanelGemm, ReferenceReadsPanelsAsRows) {
  PanelCase rows(5, 37, 21, 4), panels(5, 37, 21, 4);
  ref::matmul_f32(rows.args(false), 0, 21);
  ref::matmul_f32(panels.args(true), 0, 21);
  EXPECT_EQ(rows.y, panels.y);
}

TEST(PanelGemm, AnyRowTilesGiveTheBitsOfOneCall) {
  for_each_simd_level([](SimdLevel level) {
    for (int64_t k : {9, 300}) {
      SCOPED_TRACE(k);
      PanelCase whole(29, k, 83, 5), tiled(29, k, 83, 5);
      dispatch_at(level, PanelGemmKernel{}, whole.args(true), int64_t{0}, int64_t{83});
      // Tiles inside one panel, across two, of whole panels, and one past the register block.
      const int64_t edges[] = {0, 3, 14, 18, 32, 64, 70, 83};
      for (size_t i = 0; i + 1 < std::size(edges); ++i) {
        dispatch_at(level, PanelGemmKernel{}, tiled.args(true), edges[i], edges[i + 1]);
      }
      EXPECT_EQ(tiled.y, whole.y);
    }
  });
}

TEST(PanelGemm, EachTokenGetsTheBitsItGetsAlone) {
  for_each_simd_level([](SimdLevel level) {
    PanelCase batch(19, 260, 40, 6), alone(19, 260, 40, 6);
    dispatch_at(level, PanelGemmKernel{}, batch.args(true), int64_t{0}, int64_t{40});
    for (int64_t t = 0; t < alone.tokens; ++t) {
      MatmulOperands one = alone.args(true);
      one.x = {alone.x.data() + t * alone.ld_x, 1, alone.k, alone.ld_x};
      one.y = {alone.y.data() + t * alone.ld_y, 1, alone.n, alone.ld_y};
      dispatch_at(level, PanelGemmKernel{}, one, int64_t{0}, int64_t{40});
    }
    EXPECT_EQ(batch.y, alone.y);
  });
}

TEST(PanelGemm, ThreadCountsAndTileSizesGiveIdenticalBits) {
  PanelCase serial(33, 300, 300, 7);
  matmul_f32(serial.args(true), 0, serial.n);
  for (int threads : {1, 2, 3}) {
    for (int64_t tile : {16, 48, 256}) {
      SCOPED_TRACE(::testing::Message() << threads << " threads, tiles of " << tile);
      PanelCase parallel(33, 300, 300, 7);
      const MatmulOperands args = parallel.args(true);
      const ThreadingContext threading(threads);
      threading.execute([&] {
        threading.for_tiles(args.n(), tile,
                            [&](int64_t begin, int64_t end) { matmul_f32(args, begin, end); });
      });
      EXPECT_EQ(parallel.y, serial.y);
    }
  }
}

TEST(PanelGemm, PackingWritesZerosPastTheLastRow) {
  PanelCase packed(1, 3, 18, 8);
  ASSERT_EQ(packed.panels.size(), size_t{32 * 3});
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(packed.panels[16 * 3 + i * 16 + 1], packed.w[17 * 3 + i]);
    for (int64_t r = 2; r < 16; ++r) EXPECT_EQ(packed.panels[16 * 3 + i * 16 + r], 0.0f);
  }
}

TEST(PanelGemm, PackingRefusesRangesThatAreNotWholePanels) {
  std::vector<float> w(40 * 4), panels(f32_panels_floats(40, 4));
  EXPECT_THROW(pack_f32_panels(w.data(), 40, 4, 8, 40, panels.data()), Error);
  EXPECT_THROW(pack_f32_panels(w.data(), 40, 4, 0, 20, panels.data()), Error);
  EXPECT_THROW(pack_f32_panels(w.data(), 40, 4, 0, 48, panels.data()), Error);
  EXPECT_NO_THROW(pack_f32_panels(w.data(), 40, 4, 32, 40, panels.data()));
}

TEST(F32GemmPath, EnvironmentOverridesTheMeasuredChoice) {
  const char* before = std::getenv("MAMBA2_F32_GEMM");
  ::setenv("MAMBA2_F32_GEMM", "own", 1);
  EXPECT_EQ(f32_gemm_path(64, 40), F32GemmPath::kPanels);
  ::setenv("MAMBA2_F32_GEMM", "blas", 1);
  EXPECT_EQ(f32_gemm_path(64, 40), F32GemmPath::kOpenBlas);
  ::unsetenv("MAMBA2_F32_GEMM");
  // Measured once per K, then remembered.
  const F32GemmPath measured = f32_gemm_path(64, 72);
  EXPECT_EQ(f32_gemm_path(128, 72), measured);
  EXPECT_NE(f32_gemm_paths_chosen().find("openblas sgemm"), std::string::npos);
  if (before) ::setenv("MAMBA2_F32_GEMM", before, 1);
}

TEST(F32GemmPath, ModelsLoadingTogetherShareOneMeasurementPerK) {
  if (std::getenv("MAMBA2_F32_GEMM")) GTEST_SKIP() << "MAMBA2_F32_GEMM forces the path";
  std::vector<F32GemmPath> seen(3);
  {
    std::vector<std::jthread> loaders;
    for (size_t i = 0; i < seen.size(); ++i) {
      loaders.emplace_back([&seen, i] { seen[i] = f32_gemm_path(48, 88); });
    }
  }
  EXPECT_EQ(seen[1], seen[0]);
  EXPECT_EQ(seen[2], seen[0]);
  EXPECT_EQ(f32_gemm_path(48, 88), seen[0]);
}

}  // namespace
}  // namespace mamba2::kernels
