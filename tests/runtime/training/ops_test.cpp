// Every small backward of the trainer against central finite differences, in double.
#include "runtime/training/ops.h"

#include <gtest/gtest.h>

#include "tests/runtime/training/gradient_check.h"

namespace mamba2::training {
namespace {

using testing::expect_gradient;
using testing::random_values;
using testing::weighted_sum;

TEST(TrainingOps, RmsNormBackward) {
  const int64_t rows = 3, d = 8;
  std::vector<double> x = random_values(rows * d, 1), w = random_values(d, 2);
  const std::vector<double> r = random_values(rows * d, 3);
  auto loss = [&] {
    std::vector<double> out(rows * d), rstd(rows);
    rmsnorm_forward(x.data(), w.data(), out.data(), rstd.data(), rows, d, 1e-5);
    return weighted_sum(out, r);
  };
  std::vector<double> out(rows * d), rstd(rows), dx(rows * d, 0.0), dw(d, 0.0);
  rmsnorm_forward(x.data(), w.data(), out.data(), rstd.data(), rows, d, 1e-5);
  rmsnorm_backward(x.data(), w.data(), rstd.data(), r.data(), dx.data(), dw.data(), rows, d);
  expect_gradient("dx", x, dx, loss);
  expect_gradient("dw", w, dw, loss);
}

TEST(TrainingOps, GatedRmsNormBackward) {
  const int64_t rows = 3, d = 8, group = 4, ld_z = 11;
  std::vector<double> y = random_values(rows * d, 4), z = random_values(rows * ld_z, 5),
                      w = random_values(d, 6);
  const std::vector<double> r = random_values(rows * d, 7);
  auto loss = [&] {
    std::vector<double> out(rows * d);
    gated_rmsnorm_forward(y.data(), z.data(), ld_z, w.data(), out.data(), rows, d, group, 1e-5);
    return weighted_sum(out, r);
  };
  std::vector<double> dy(rows * d, 0.0), dz(rows * ld_z, 0.0), dw(d, 0.0);
  gated_rmsnorm_backward(y.data(), z.data(), ld_z, w.data(), r.data(), dy.data(), dz.data(),
                         dw.data(), rows, d, group, 1e-5);
  expect_gradient("dy", y, dy, loss);
  expect_gradient("dz", z, dz, loss);
  expect_gradient("dw", w, dw, loss);
  // Columns past d in each z row are not read and get no gradient.
  for (int64_t row = 0; row < rows; ++row) EXPECT_EQ(dz[row * ld_z + d], 0.0);
}

TEST(TrainingOps, ConvSiluBackward) {
  const int64_t tokens = 6, ld = 7, channels = 5, taps = 4, c_begin = 1, c_end = 4;
  std::vector<double> in = random_values(tokens * ld, 8), w = random_values(channels * taps, 9),
                      bias = random_values(channels, 10);
  const std::vector<double> r = random_values(tokens * channels, 11);
  auto loss = [&] {
    std::vector<double> out(tokens * channels, 0.0);
    conv_silu_forward(in.data(), ld, w.data(), bias.data(), out.data(), channels, tokens, taps,
                      c_begin, c_end);
    return weighted_sum(out, r);
  };
  std::vector<double> din(tokens * ld, 0.0), dw(channels * taps, 0.0), dbias(channels, 0.0);
  conv_silu_backward(in.data(), ld, w.data(), bias.data(), r.data(), channels, din.data(), ld,
                     dw.data(), dbias.data(), tokens, taps, c_begin, c_end);
  expect_gradient("din", in, din, loss);
  expect_gradient("dw", w, dw, loss);
  expect_gradient("dbias", bias, dbias, loss);
}

TEST(TrainingOps, DtSoftplusBackwardWithClamp) {
  const int64_t rows = 5, heads = 3, ld = 4;
  std::vector<double> raw = random_values(rows * ld, 12, 2.0), bias = random_values(heads, 13);
  raw[0] = 25.0;  // the linear branch of softplus
  const std::vector<double> r = random_values(rows * heads, 14);
  for (const auto& clamp : {std::pair{0.0, 1e30}, std::pair{0.3, 1.5}}) {
    // Named copies: clang before 16 cannot capture structured bindings in a lambda.
    const double lo = clamp.first, hi = clamp.second;
    auto loss = [&] {
      std::vector<double> dt(rows * heads);
      dt_forward(raw.data(), ld, bias.data(), lo, hi, dt.data(), rows, heads);
      return weighted_sum(dt, r);
    };
    std::vector<double> draw(rows * ld, 0.0), dbias(heads, 0.0);
    dt_backward(raw.data(), ld, bias.data(), lo, hi, r.data(), draw.data(), dbias.data(), rows,
                heads);
    expect_gradient("draw", raw, draw, loss, 1e-5);
    expect_gradient("dbias", bias, dbias, loss, 1e-5);
  }
}

TEST(TrainingOps, CrossEntropyBackward) {
  const int64_t rows = 3, vocab = 7;
  std::vector<double> logits = random_values(rows * vocab, 15, 3.0);
  const std::vector<int32_t> targets = {2, 0, 6};
  auto loss = [&] {
    std::vector<double> copy = logits;
    return cross_entropy(copy.data(), targets.data(), rows, vocab, 1.0) / rows;
  };
  std::vector<double> grad = logits;
  const double value = cross_entropy(grad.data(), targets.data(), rows, vocab, 1.0 / rows);
  EXPECT_GT(value, 0.0);
  expect_gradient("dlogits", logits, grad, loss);
}

}  // namespace
}  // namespace mamba2::training
