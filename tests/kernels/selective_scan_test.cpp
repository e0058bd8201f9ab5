// Mamba-1's selective scan at every SIMD level against the scalar reference, and the associative
// pieces (local state, decay, state pass) against the plain recurrence. A differs in every channel
// and state entry, so reading another channel's row of A fails.
#include "kernels/selective_scan.h"

#include <cmath>
#include <vector>

#include "tests/kernels/kernel_test_util.h"

namespace mamba2::kernels {
namespace {

using namespace testing;  // random_vector, expect_near_scaled, for_each_simd_level

// A block of `tokens` tokens of `channels` channels laid out as the engine does: x and dt rows of
// the conv and dt buffers (padded strides), B and C inside x_proj's rows.
struct Problem {
  int64_t tokens, channels, d_state;
  int64_t ld_x, ld_dt, ld_bc;
  std::vector<float> x, dt, bc, A, D, state0;

  Problem(int64_t t, int64_t d, int64_t n, uint32_t seed)
      : tokens(t), channels(d), d_state(n), ld_x(d + 3), ld_dt(d + 1), ld_bc(5 + 2 * n) {
    x = random_vector(t * ld_x, seed);
    dt = random_vector(t * ld_dt, seed + 1, 0.001f, 0.2f);
    bc = random_vector(t * ld_bc, seed + 2);
    A = random_vector(d * n, seed + 3, 0.0f, std::log(16.0f));  // A_log = log U(1, 16)
    for (float& a : A) a = -std::exp(a);
    D = random_vector(d, seed + 4);
    state0 = random_vector(d * n, seed + 5);
  }

  // Tokens [begin, begin + count).
  SelectiveScanChunk chunk(int64_t begin, int64_t count) const {
    return {count,
            d_state,
            x.data() + begin * ld_x,
            ld_x,
            dt.data() + begin * ld_dt,
            ld_dt,
            bc.data() + begin * ld_bc + 5,
            bc.data() + begin * ld_bc + 5 + d_state,
            ld_bc,
            A.data(),
            D.data()};
  }
};

struct Result {
  std::vector<float> y, state;
};

Result reference(const Problem& pr, const SelectiveScanChunk& chunk) {
  Result out{std::vector<float>(chunk.tokens * pr.channels), pr.state0};
  ref::selective_scan(chunk, out.state.data(), out.y.data(), pr.channels, 0, pr.channels);
  return out;
}

const std::vector<int64_t> kTokenCounts = {1, 2, 5, 16, 33, 100};
// d_state 16 (the released models), 8 (m1_small: under one AVX-512 vector), and ragged widths.
const std::vector<int64_t> kStates = {1, 7, 8, 16, 24, 64, 70};

TEST(SelectiveScan, MatchesTheReferenceAtEverySimdLevel) {
  for_each_simd_level([](SimdLevel level) {
    uint32_t seed = 1;
    for (int64_t tokens : kTokenCounts) {
      for (int64_t n : kStates) {
        SCOPED_TRACE(::testing::Message() << "T=" << tokens << " N=" << n);
        const Problem pr(tokens, 37, n, seed += 11);
        const Result expected = reference(pr, pr.chunk(0, tokens));
        Result actual{std::vector<float>(tokens * pr.channels), pr.state0};
        // Two channel ranges, as the engine tiles them.
        for (auto [begin, end] : {std::pair<int64_t, int64_t>{0, 16}, {16, 37}}) {
          dispatch_at(level, SelectiveScanKernel{}, pr.chunk(0, tokens), actual.state.data(),
                      actual.y.data(), pr.channels, begin, end);
        }
        expect_near_scaled(actual.y, expected.y, 1e-5f);
        expect_near_scaled(actual.state, expected.state, 1e-5f);
      }
    }
  });
}

// Splitting a sequence into blocks, each reduced to (decay, local state) and combined with the
// entering state by the state pass, gives the state of one recurrence; rerunning each block
// from its entering state gives its outputs.
TEST(SelectiveScan, BlocksCombinedByThePassEqualOneRecurrence) {
  for_each_simd_level([](SimdLevel level) {
    for (int64_t n : {8, 16}) {
      const int64_t tokens = 45, block = 8;
      const Problem pr(tokens, 21, n, 100 + static_cast<uint32_t>(n));
      const Result expected = reference(pr, pr.chunk(0, tokens));
      const int64_t size = pr.channels * n;
      std::vector<float> state = pr.state0, local(size), decay(size), y(tokens * pr.channels);
      for (int64_t begin = 0; begin < tokens; begin += block) {
        const SelectiveScanChunk chunk = pr.chunk(begin, std::min(block, tokens - begin));
        std::vector<float> entering = state;
        dispatch_at(level, SelectiveScanKernel{}, chunk, entering.data(),
                    y.data() + begin * pr.channels, pr.channels, 0, pr.channels);
        dispatch_at(level, SelectiveScanStateKernel{}, chunk, local.data(), decay.data(), 0,
                    pr.channels);
        dispatch_at(level, SelectiveStatePassKernel{}, decay.data(), state.data(), local.data(),
                    state.data(), 0, size);
      }
      expect_near_scaled(y, expected.y, 1e-5f);
      expect_near_scaled(state, expected.state, 1e-5f);
    }
  });
}

TEST(SelectiveScan, ReferenceLocalStateIsTheScanFromZero) {
  const Problem pr(9, 5, 16, 7);
  std::vector<float> local(5 * 16), decay(5 * 16), zero(5 * 16, 0.0f), y(9 * 5);
  ref::selective_scan_state(pr.chunk(0, 9), local.data(), decay.data(), 0, 5);
  ref::selective_scan(pr.chunk(0, 9), zero.data(), y.data(), 5, 0, 5);
  expect_near_scaled(local, zero, 1e-6f);
  for (int64_t d = 0; d < 5; ++d) {
    float dt_sum = 0.0f;
    for (int64_t t = 0; t < 9; ++t) dt_sum += pr.dt[t * pr.ld_dt + d];
    for (int64_t i = 0; i < 16; ++i) {
      EXPECT_NEAR(decay[d * 16 + i], std::exp(dt_sum * pr.A[d * 16 + i]), 1e-6f);
    }
  }
}

// Every entry's pass is decay * in + local, whatever the range and its SIMD tail.
TEST(SelectiveScan, StatePassIsOneMultiplyAddPerEntry) {
  for_each_simd_level([](SimdLevel level) {
    const auto decay = random_vector(100, 1), in = random_vector(100, 2),
               local = random_vector(100, 3);
    std::vector<float> out(100, 0.0f), expected(100, 0.0f);
    dispatch_at(level, SelectiveStatePassKernel{}, decay.data(), in.data(), local.data(),
                out.data(), 3, 97);
    for (int64_t i = 3; i < 97; ++i) expected[i] = decay[i] * in[i] + local[i];
    expect_near_scaled(out, expected, 1e-6f);
  });
}

}  // namespace
}  // namespace mamba2::kernels
