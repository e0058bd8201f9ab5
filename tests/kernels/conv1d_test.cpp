#include "kernels/conv1d.h"

#include <cmath>
#include <cstring>
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

float silu(float v) { return v / (1.0f + std::exp(-v)); }

// One convolution problem with padded row strides, as the engine has them (xBC inside zxbcdt).
struct ConvCase {
  int64_t tokens, channels, d_conv, ld_in, ld_out;
  std::vector<float> in, state, weight, bias, out;

  ConvCase(int64_t t, int64_t c, int64_t taps, uint32_t seed)
      : tokens(t), channels(c), d_conv(taps), ld_in(c + 5), ld_out(c + 3) {
    in = random_vector(tokens * ld_in, seed, -3.0f, 3.0f);                  // [T, ld_in]
    state = random_vector((d_conv - 1) * channels, seed + 1, -3.0f, 3.0f);  // [d_conv-1, C]
    weight = random_vector(d_conv * channels, seed + 2);                    // [d_conv, C]
    bias = random_vector(channels, seed + 3);                               // [C]
    out.assign(tokens * ld_out, -7.0f);                                     // [T, ld_out]
  }

  Conv1dArgs args(bool with_bias = true) {
    return Conv1dArgs{
        in.data(),  ld_in,  state.data(), weight.data(), with_bias ? bias.data() : nullptr,
        out.data(), ld_out, tokens,       channels,      d_conv};
  }
};

TEST(Conv1d, MatchesReferenceAtEveryLevelAndShape) {
  for_each_simd_level([](SimdLevel level) {
    // 9 taps exceeds the unrolled widths and takes the reference path.
    for (int64_t taps : {1, 2, 3, 4, 5, 9}) {
      for (int64_t tokens : {1, 2, 3, 5, 64}) {
        for (int64_t channels : {1, 7, 16, 17, 33, 100}) {
          for (bool with_bias : {true, false}) {
            SCOPED_TRACE(::testing::Message() << "taps " << taps << " T " << tokens << " C "
                                              << channels << " bias " << with_bias);
            ConvCase expected(tokens, channels, taps, 11);
            ConvCase actual(tokens, channels, taps, 11);
            ref::conv1d_silu(expected.args(with_bias), 0, channels);
            dispatch_at(level, Conv1dKernel{}, actual.args(with_bias), int64_t{0}, channels);
            expect_close(actual.out, expected.out, 1e-6f, 1e-5f);
            expect_close(actual.state, expected.state, 0.0f);  // copies, so exact
          }
        }
      }
    }
  });
}

TEST(Conv1d, ChannelTilesAreBitIdenticalToOneCall) {
  for_each_simd_level([](SimdLevel level) {
    for (int64_t tokens : {1, 2, 9}) {
      SCOPED_TRACE(tokens);
      ConvCase whole(tokens, 100, 4, 21);
      ConvCase tiled(tokens, 100, 4, 21);
      dispatch_at(level, Conv1dKernel{}, whole.args(), int64_t{0}, int64_t{100});
      // Ragged tiles put channels in batch bodies in one run and padded tails in the other.
      const int64_t edges[] = {0, 3, 13, 16, 50, 99, 100};
      for (size_t i = 0; i + 1 < std::size(edges); ++i) {
        dispatch_at(level, Conv1dKernel{}, tiled.args(), edges[i], edges[i + 1]);
      }
      EXPECT_EQ(tiled.out, whole.out);
      EXPECT_EQ(tiled.state, whole.state);
    }
  });
}

TEST(Conv1d, OnlyTheTileIsTouched) {
  ConvCase conv(3, 40, 4, 31);
  const auto state_before = conv.state;
  conv1d_silu(conv.args(), 10, 20);
  for (int64_t t = 0; t < conv.tokens; ++t) {
    for (int64_t c = 0; c < conv.ld_out; ++c) {
      if (c < 10 || c >= 20) {
        EXPECT_EQ(conv.out[t * conv.ld_out + c], -7.0f) << t << " " << c;
      }
    }
  }
  for (int64_t k = 0; k < 3; ++k) {
    for (int64_t c = 0; c < conv.channels; ++c) {
      if (c < 10 || c >= 20) {
        EXPECT_EQ(conv.state[k * 40 + c], state_before[k * 40 + c]);
      }
    }
  }
}

// Runs `tokens` inputs through conv in blocks of the given sizes, carrying the state.
std::vector<float> run_in_blocks(SimdLevel level, ConvCase& conv,
                                 const std::vector<int64_t>& blocks, std::vector<float>& state) {
  std::vector<float> out(conv.tokens * conv.ld_out, -7.0f);
  int64_t t0 = 0;
  for (int64_t block : blocks) {
    const Conv1dArgs args{conv.in.data() + t0 * conv.ld_in,
                          conv.ld_in,
                          state.data(),
                          conv.weight.data(),
                          conv.bias.data(),
                          out.data() + t0 * conv.ld_out,
                          conv.ld_out,
                          block,
                          conv.channels,
                          conv.d_conv};
    dispatch_at(level, Conv1dKernel{}, args, int64_t{0}, conv.channels);
    t0 += block;
  }
  EXPECT_EQ(t0, conv.tokens);
  return out;
}

TEST(Conv1d, BlocksWithCarriedStateEqualOneBlock) {
  for_each_simd_level([](SimdLevel level) {
    for (int64_t channels : {5, 37}) {
      ConvCase conv(12, channels, 4, 41);
      std::vector<float> one_state = conv.state;
      const auto one = run_in_blocks(level, conv, {12}, one_state);
      // Blocks shorter than d_conv-1 (1, 2), equal to it (3), and longer; then decode steps.
      for (const std::vector<int64_t>& blocks : std::vector<std::vector<int64_t>>{
               {5, 7}, {2, 10}, {1, 2, 3, 6}, {3, 9}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}}) {
        SCOPED_TRACE(::testing::Message() << "C " << channels << " first block " << blocks[0]
                                          << " blocks " << blocks.size());
        std::vector<float> state = conv.state;
        EXPECT_EQ(run_in_blocks(level, conv, blocks, state), one);
        EXPECT_EQ(state, one_state);
      }
    }
  });
}

TEST(Conv1d, StateShiftAndOutputsByHand) {
  // One channel, d_conv 4, weights picking only the oldest tap: out_t = silu(input_{t-3}).
  const float weight[4] = {1.0f, 0.0f, 0.0f, 0.0f};
  for_each_simd_level([&](SimdLevel level) {
    {
      float state[3] = {1.0f, 2.0f, 3.0f};
      const float in[1] = {4.0f};
      float out[1];
      dispatch_at(level, Conv1dKernel{}, Conv1dArgs{in, 1, state, weight, nullptr, out, 1, 1, 1, 4},
                  int64_t{0}, int64_t{1});
      EXPECT_FLOAT_EQ(out[0], silu(1.0f));
      EXPECT_EQ(std::vector<float>(state, state + 3), (std::vector<float>{2.0f, 3.0f, 4.0f}));
    }
    {
      float state[3] = {1.0f, 2.0f, 3.0f};
      const float in[2] = {4.0f, 5.0f};
      float out[2];
      dispatch_at(level, Conv1dKernel{}, Conv1dArgs{in, 1, state, weight, nullptr, out, 1, 2, 1, 4},
                  int64_t{0}, int64_t{1});
      EXPECT_FLOAT_EQ(out[0], silu(1.0f));
      EXPECT_FLOAT_EQ(out[1], silu(2.0f));
      EXPECT_EQ(std::vector<float>(state, state + 3), (std::vector<float>{3.0f, 4.0f, 5.0f}));
    }
    {
      float state[3] = {0.0f, 0.0f, 0.0f};  // a fresh sequence: inputs before t = 0 are zero
      const float in[6] = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f};
      const float bias[1] = {0.5f};
      float out[6];
      dispatch_at(level, Conv1dKernel{}, Conv1dArgs{in, 1, state, weight, bias, out, 1, 6, 1, 4},
                  int64_t{0}, int64_t{1});
      const float expected[6] = {silu(0.5f), silu(0.5f), silu(0.5f),
                                 silu(1.5f), silu(2.5f), silu(3.5f)};
      for (int t = 0; t < 6; ++t) EXPECT_FLOAT_EQ(out[t], expected[t]) << t;
      EXPECT_EQ(std::vector<float>(state, state + 3), (std::vector<float>{4.0f, 5.0f, 6.0f}));
    }
  });
}

TEST(Conv1d, SumsTapsWithNewestLast) {
  // out = silu(b + w0*x_{t-2} + w1*x_{t-1} + w2*x_t) with d_conv 3 and two channels.
  const float weight[6] = {1.0f, 0.5f, 2.0f, -1.0f, 3.0f, 0.25f};  // [3, 2]
  const float bias[2] = {0.0f, 1.0f};
  float state[4] = {1.0f, 2.0f, 3.0f, 4.0f};  // [2, 2]: x_{-2}, x_{-1}
  const float in[2] = {5.0f, 6.0f};           // [1, 2]: x_0
  float out[2];
  conv1d_silu(Conv1dArgs{in, 2, state, weight, bias, out, 2, 1, 2, 3}, 0, 2);
  EXPECT_NEAR(out[0], silu(1.0f * 1 + 2.0f * 3 + 3.0f * 5), 1e-5f);
  EXPECT_NEAR(out[1], silu(1.0f + 0.5f * 2 - 1.0f * 4 + 0.25f * 6), 1e-6f);
  EXPECT_EQ(std::vector<float>(state, state + 4), (std::vector<float>{3.0f, 4.0f, 5.0f, 6.0f}));
}

TEST(Conv1dTrace, ReproducesTheTinyFixture) {
  const auto dir = mamba2::testing::fixture_dir("tiny");
  const CheckpointTensors model = read_safetensors(dir / "model.safetensors");
  const NpyArray final_conv = read_npy(dir / "final_conv_state_p4.npy");  // [2, 160, 4]
  ASSERT_EQ(final_conv.shape, (std::vector<int64_t>{2, kConvDim, 4}));
  for (int64_t layer : {0, 1}) {
    SCOPED_TRACE(layer);
    const NpyArray zxbcdt = trace_array(layer, "zxbcdt");           // [40, 296]
    const NpyArray expected = trace_array(layer, "xBC_conv_silu");  // [40, 160]
    ASSERT_EQ(zxbcdt.shape, (std::vector<int64_t>{kTraceTokens, kDInProj}));
    ASSERT_EQ(expected.shape, (std::vector<int64_t>{kTraceTokens, kConvDim}));
    const auto checkpoint_weight = checkpoint_f32(model, layer_tensor(layer, "conv1d.weight"));
    const auto bias = checkpoint_f32(model, layer_tensor(layer, "conv1d.bias"));  // [160]
    ASSERT_EQ(checkpoint_weight.size(), size_t{kConvDim * 4});
    std::vector<float> weight(4 * kConvDim);  // [d_conv, C] from the checkpoint's [C, 1, d_conv]
    for (int64_t c = 0; c < kConvDim; ++c) {
      for (int64_t k = 0; k < 4; ++k) weight[k * kConvDim + c] = checkpoint_weight[c * 4 + k];
    }
    // The conv state the reference keeps after the prompt: its newest d_conv-1 columns.
    std::vector<float> expected_state(3 * kConvDim);  // [d_conv-1, C]
    for (int64_t c = 0; c < kConvDim; ++c) {
      for (int64_t k = 0; k < 3; ++k) {
        expected_state[k * kConvDim + c] = final_conv.data[(layer * kConvDim + c) * 4 + k + 1];
      }
    }
    for_each_simd_level([&](SimdLevel level) {
      for (int64_t block : {40, 16, 1}) {
        SCOPED_TRACE(block);
        std::vector<float> state(3 * kConvDim, 0.0f), out(kTraceTokens * kConvDim);
        for (int64_t t0 = 0; t0 < kTraceTokens; t0 += block) {
          const Conv1dArgs args{zxbcdt.data.data() + t0 * kDInProj + kDInner,
                                kDInProj,
                                state.data(),
                                weight.data(),
                                bias.data(),
                                out.data() + t0 * kConvDim,
                                kConvDim,
                                std::min(block, kTraceTokens - t0),
                                kConvDim,
                                4};
          dispatch_at(level, Conv1dKernel{}, args, int64_t{0}, kConvDim);
        }
        expect_close(out, expected.data, 1e-5f, 1e-5f);
        expect_close(state, expected_state, 0.0f);
      }
    });
  }
}

}  // namespace
}  // namespace mamba2::kernels
