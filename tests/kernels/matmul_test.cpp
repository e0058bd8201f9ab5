#include "kernels/matmul.h"

#include <cblas.h>

#include <cmath>
#include <cstring>
#include <string>
#include <thread>

#include "mamba2/error.h"
#include "mamba2/npy.h"
#include "runtime/formats/safetensors.h"
#include "tests/kernels/kernel_test_util.h"
#include "tests/kernels/matmul_case.h"
#include "tests/kernels/tiny_fixture.h"
#include "tests/support/test_paths.h"

namespace mamba2::kernels {
namespace {

using testing::for_each_simd_level;
using testing::MatmulCase;
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

// A row-major f32 GEMM and GEMV reproduce the double reference within 1e-6 of the terms.
void expect_close_to_reference(const MatmulCase& actual, const MatmulCase& expected,
                               bool with_bias = true) {
  testing::expect_close_to_reference(actual, expected, with_bias, 1e-6);
}

TEST(Gemv, MatchesReferenceAtEveryLevelAndShape) {
  for_each_simd_level([](SimdLevel level) {
    for (int64_t k : ragged_lengths()) {
      for (int64_t n : {1, 3, 4, 5, 9, 17}) {
        for (bool with_bias : {true, false}) {
          SCOPED_TRACE(::testing::Message() << "K " << k << " N " << n << " bias " << with_bias);
          MatmulCase expected(1, k, n, 1), actual(1, k, n, 1);
          ref::matmul_f32(expected.args(with_bias), 0, n);
          dispatch_at(level, GemvKernel{}, actual.args(with_bias), int64_t{0}, n);
          expect_close_to_reference(actual, expected, with_bias);
        }
      }
    }
  });
}

TEST(Gemv, RowTilesAreBitIdenticalToOneCall) {
  for_each_simd_level([](SimdLevel level) {
    for (int64_t k : {7, 64, 100}) {
      SCOPED_TRACE(k);
      MatmulCase whole(1, k, 37, 2), tiled(1, k, 37, 2);
      dispatch_at(level, GemvKernel{}, whole.args(), int64_t{0}, int64_t{37});
      // Tiles that move rows between the four-row groups and the single-row remainder.
      const int64_t edges[] = {0, 1, 6, 7, 22, 25, 37};
      for (size_t i = 0; i + 1 < std::size(edges); ++i) {
        dispatch_at(level, GemvKernel{}, tiled.args(), edges[i], edges[i + 1]);
      }
      EXPECT_EQ(tiled.y, whole.y);
    }
  });
}

TEST(Gemv, EachTokenOfABatchGetsItsOwnBits) {
  for_each_simd_level([](SimdLevel level) {
    for (int64_t k : {7, 64, 100, 768}) {
      for (int64_t tokens : {int64_t{2}, int64_t{3}, int64_t{5}, kGemvMaxTokens}) {
        SCOPED_TRACE(::testing::Message() << "K " << k << " T " << tokens);
        MatmulCase batch(tokens, k, 37, 6), expected(tokens, k, 37, 6);
        // Row tiles that cut the two-row groups, as the runtime's tiling may.
        const int64_t edges[] = {0, 3, 22, 37};
        for (size_t i = 0; i + 1 < std::size(edges); ++i) {
          dispatch_at(level, GemvKernel{}, batch.args(), edges[i], edges[i + 1]);
        }
        ref::matmul_f32(expected.args(), 0, 37);
        expect_close_to_reference(batch, expected);
        for (int64_t t = 0; t < tokens; ++t) {
          MatmulCase alone(1, k, 37, 6);
          MatmulOperands args = batch.args();
          args.x = {args.x.row(t), 1, k, batch.ld_x};
          args.y = {alone.y.data(), 1, 37, batch.ld_y};
          dispatch_at(level, GemvKernel{}, args, int64_t{0}, int64_t{37});
          for (int64_t r = 0; r < 37; ++r) {
            ASSERT_EQ(batch.y[t * batch.ld_y + r], alone.y[r]) << "token " << t << " row " << r;
          }
        }
      }
    }
  });
}

TEST(Matmul, SingleTokenUsesTheGemvOfTheCurrentLevel) {
  MatmulCase viaPublic(1, 100, 13, 3), viaKernel(1, 100, 13, 3);
  matmul_f32(viaPublic.args(), 0, 13);
  dispatch(GemvKernel{}, viaKernel.args(), int64_t{0}, int64_t{13});
  EXPECT_EQ(viaPublic.y, viaKernel.y);
}

TEST(Matmul, SeveralTokensMatchReference) {
  for (int64_t tokens : {2, 3, 17}) {
    for (int64_t k : {1, 7, 64, 100}) {
      for (int64_t n : {1, 5, 64, 70}) {
        for (bool with_bias : {true, false}) {
          SCOPED_TRACE(::testing::Message()
                       << "T " << tokens << " K " << k << " N " << n << " bias " << with_bias);
          MatmulCase expected(tokens, k, n, 4), actual(tokens, k, n, 4);
          ref::matmul_f32(expected.args(with_bias), 0, n);
          matmul_f32(actual.args(with_bias), 0, n);
          expect_close_to_reference(actual, expected, with_bias);
        }
      }
    }
  }
}

TEST(Matmul, RowTilesOfSeveralTokensMatchOneCall) {
  // A range's result depends only on that range; OpenBLAS keeps K order per output, so tiles
  // normally agree bit for bit with one call, but only closeness is part of the contract.
  MatmulCase whole(5, 96, 70, 5), tiled(5, 96, 70, 5), again(5, 96, 70, 5);
  matmul_f32(whole.args(), 0, 70);
  const int64_t edges[] = {0, 3, 16, 17, 64, 70};
  for (size_t i = 0; i + 1 < std::size(edges); ++i)
    matmul_f32(tiled.args(), edges[i], edges[i + 1]);
  expect_close_to_reference(tiled, whole);
  // The same tile computed alone gives the same bits as when its neighbours were computed.
  matmul_f32(again.args(), 16, 17);
  for (int64_t t = 0; t < 5; ++t)
    EXPECT_EQ(again.y[t * again.ld_y + 16], tiled.y[t * tiled.ld_y + 16]);
}

TEST(Matmul, ConcurrentTilesFromSeveralThreadsMatchSerialTiles) {
  // The engine calls sgemm on disjoint row tiles from several TBB threads at once.
  MatmulCase serial(33, 96, 256, 8), parallel(33, 96, 256, 8);
  for (int64_t begin = 0; begin < 256; begin += 32) matmul_f32(serial.args(), begin, begin + 32);
  const MatmulOperands args = parallel.args();
  std::vector<std::thread> threads;
  for (int64_t part = 0; part < 4; ++part) {
    threads.emplace_back([&args, part] {
      for (int repeat = 0; repeat < 20; ++repeat) {
        for (int64_t begin = part * 64; begin < (part + 1) * 64; begin += 32) {
          matmul_f32(args, begin, begin + 32);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(parallel.y, serial.y);
}

TEST(Matmul, SgemmRunsSingleThreaded) {
  MatmulCase projection(kGemvMaxTokens + 1, 8, 8, 6);
  matmul_f32(projection.args(), 0, 8);
  EXPECT_EQ(openblas_get_num_threads(), 1);
}

TEST(Matmul, RefusesRowStridesShorterThanRows) {
  MatmulCase projection(2, 8, 4, 7);
  MatmulOperands args = projection.args();
  args.x.stride = 7;
  EXPECT_THROW(matmul_f32(args, 0, 4), Error);
}

TEST(Matmul, RefusesOperandsOfDifferentShapes) {
  MatmulCase projection(2, 8, 4, 7);
  MatmulOperands args = projection.args();
  args.y.cols = 5;
  EXPECT_THROW(matmul_f32(args, 0, 4), Error);
  args = projection.args();
  args.x.cols = 7;
  EXPECT_THROW(matmul_f32(args, 0, 4), Error);
}

TEST(Matmul, KnownValues) {
  const float w[6] = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f};  // [3, 2]
  const float bias[3] = {0.5f, -1.0f, 0.0f};
  const float x[4] = {1.0f, 1.0f, 2.0f, -1.0f};  // [2, 2]
  float y[6];
  const auto operands = [&](int64_t tokens, int64_t k) {
    return MatmulOperands{.x = {x, tokens, k, 2},
                          .w = WeightView::f32(w, 3, k),
                          .bias = bias,
                          .y = {y, tokens, 3, 3}};
  };
  // One token: W . [1, 1] = [3, 7, 11], plus bias.
  matmul_f32(operands(1, 2), 0, 3);
  EXPECT_EQ(y[0], 3.5f);
  EXPECT_EQ(y[1], 6.0f);
  EXPECT_EQ(y[2], 11.0f);
  // Two tokens through sgemm: the second is W . [2, -1] = [0, 2, 4].
  matmul_f32(operands(2, 2), 0, 3);
  EXPECT_EQ(std::vector<float>(y, y + 6),
            (std::vector<float>{3.5f, 6.0f, 11.0f, 0.5f, 1.0f, 4.0f}));
  // K = 0: only the bias.
  matmul_f32(operands(2, 0), 0, 3);
  EXPECT_EQ(std::vector<float>(y, y + 6),
            (std::vector<float>{0.5f, -1.0f, 0.0f, 0.5f, -1.0f, 0.0f}));
}

TEST(MatmulTrace, ProjectionsReproduceTheTinyFixture) {
  const CheckpointTensors model =
      read_safetensors(mamba2::testing::fixture_dir("tiny") / "model.safetensors");
  for (int64_t layer : {0, 1}) {
    SCOPED_TRACE(layer);
    const NpyArray mixer_in = trace_array(layer, "mixer_in");                           // [40, 64]
    const NpyArray zxbcdt = trace_array(layer, "zxbcdt");                               // [40, 296]
    const NpyArray gated = trace_array(layer, "y_gated_norm");                          // [40, 128]
    const NpyArray mixer_out = trace_array(layer, "mixer_out");                         // [40, 64]
    const auto in_proj = checkpoint_f32(model, layer_tensor(layer, "in_proj.weight"));  // [296, 64]
    const auto out_proj =
        checkpoint_f32(model, layer_tensor(layer, "out_proj.weight"));  // [64, 128]
    ASSERT_EQ(in_proj.size(), size_t{kDInProj * kDModel});
    ASSERT_EQ(out_proj.size(), size_t{kDModel * kDInner});
    struct Projection {
      const NpyArray& x;
      const std::vector<float>& w;
      const NpyArray& expected;
      int64_t k, n;
    };
    for (const Projection& p : {Projection{mixer_in, in_proj, zxbcdt, kDModel, kDInProj},
                                Projection{gated, out_proj, mixer_out, kDInner, kDModel}}) {
      ASSERT_EQ(p.x.shape, (std::vector<int64_t>{kTraceTokens, p.k}));
      ASSERT_EQ(p.expected.shape, (std::vector<int64_t>{kTraceTokens, p.n}));
      // All tokens at once (sgemm), then token by token (GEMV).
      std::vector<float> y(kTraceTokens * p.n);
      const MatmulOperands all{.x = {p.x.data.data(), kTraceTokens, p.k, p.k},
                               .w = WeightView::f32(p.w.data(), p.n, p.k),
                               .y = {y.data(), kTraceTokens, p.n, p.n}};
      matmul_f32(all, 0, p.n);
      testing::expect_close(y, p.expected.data, 1e-4f, 1e-5f);
      for_each_simd_level([&](SimdLevel level) {
        std::vector<float> y_step(kTraceTokens * p.n);
        for (int64_t t = 0; t < kTraceTokens; ++t) {
          const MatmulOperands one{.x = {all.x.row(t), 1, p.k, p.k},
                                   .w = all.w,
                                   .y = {y_step.data() + t * p.n, 1, p.n, p.n}};
          dispatch_at(level, GemvKernel{}, one, int64_t{0}, p.n);
        }
        testing::expect_close(y_step, p.expected.data, 1e-4f, 1e-5f);
      });
    }
  }
}

}  // namespace
}  // namespace mamba2::kernels
