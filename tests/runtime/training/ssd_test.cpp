// The chunked SSD of the trainer: forward against the token-by-token recurrence, backward against
// central finite differences, in double, with a ragged last chunk and two groups.
#include "runtime/training/ssd.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/runtime/training/gradient_check.h"

namespace mamba2::training {
namespace {

using testing::expect_gradient;
using testing::random_values;
using testing::weighted_sum;

struct Shape {
  int64_t tokens = 11, chunk = 4, nheads = 4, headdim = 3, d_state = 5, ngroups = 2;
  int64_t ld() const { return nheads * headdim + 2 * ngroups * d_state + 1; }  // + 1: a gap
};

struct Inputs {
  explicit Inputs(const Shape& s)
      : xbc(random_values(s.tokens * s.ld(), 21)),
        dt(random_values(s.tokens * s.nheads, 22)),
        A_log(random_values(s.nheads, 23, 0.5)),
        D(random_values(s.nheads, 24)) {
    for (double& v : dt) v = 0.05 + 0.5 * std::fabs(v);  // dt > 0 as softplus gives
  }
  SsdSequence<double> sequence(const Shape& s) const {
    return {s.tokens,   s.chunk, s.nheads,  s.headdim,    s.d_state, s.ngroups,
            xbc.data(), s.ld(),  dt.data(), A_log.data(), D.data()};
  }
  std::vector<double> xbc, dt, A_log, D;
};

std::vector<double> run_forward(const Shape& s, const Inputs& in, std::vector<double>* states) {
  const int64_t d_ssm = s.nheads * s.headdim;
  const SsdSequence<double> seq = in.sequence(s);
  std::vector<double> y(s.tokens * d_ssm, 0.0);
  std::vector<double> scratch(seq.chunks() * s.nheads * s.headdim * s.d_state);
  if (!states) states = &scratch;
  states->assign(scratch.size(), 0.0);
  for (int64_t g = 0; g < s.ngroups; ++g) ssd_forward(seq, g, y.data(), d_ssm, states->data());
  return y;
}

TEST(TrainingSsd, ForwardEqualsRecurrence) {
  const Shape s;
  const Inputs in(s);
  const std::vector<double> y = run_forward(s, in, nullptr);
  const int64_t P = s.headdim, N = s.d_state, G = s.ngroups, H = s.nheads;
  std::vector<double> state(H * P * N, 0.0);
  for (int64_t t = 0; t < s.tokens; ++t) {
    const double* row = &in.xbc[t * s.ld()];
    for (int64_t h = 0; h < H; ++h) {
      const int64_t g = h / (H / G);
      const double dt = in.dt[t * H + h], A = -std::exp(in.A_log[h]);
      for (int64_t p = 0; p < P; ++p) {
        const double x = row[h * P + p];
        double out = 0;
        for (int64_t n = 0; n < N; ++n) {
          double& st = state[(h * P + p) * N + n];
          st = std::exp(dt * A) * st + dt * x * row[H * P + g * N + n];
          out += st * row[H * P + G * N + g * N + n];
        }
        EXPECT_NEAR(y[t * H * P + h * P + p], out + in.D[h] * x, 1e-12) << t << " " << h;
      }
    }
  }
}

TEST(TrainingSsd, BackwardMatchesFiniteDifferences) {
  const Shape s;
  Inputs in(s);
  const int64_t d_ssm = s.nheads * s.headdim;
  const std::vector<double> r = random_values(s.tokens * d_ssm, 25);
  auto loss = [&] { return weighted_sum(run_forward(s, in, nullptr), r); };
  std::vector<double> states;
  run_forward(s, in, &states);
  std::vector<double> dxbc(in.xbc.size(), 0.0), ddt(in.dt.size(), 0.0), dA_log(s.nheads, 0.0),
      dD(s.nheads, 0.0);
  const SsdSequence<double> seq = in.sequence(s);
  for (int64_t g = 0; g < s.ngroups; ++g) {
    ssd_backward(seq, g, r.data(), d_ssm, states.data(), dxbc.data(), ddt.data(), dA_log.data(),
                 dD.data());
  }
  expect_gradient("dxbc", in.xbc, dxbc, loss);
  expect_gradient("ddt", in.dt, ddt, loss);
  expect_gradient("dA_log", in.A_log, dA_log, loss);
  expect_gradient("dD", in.D, dD, loss);
}

}  // namespace
}  // namespace mamba2::training
