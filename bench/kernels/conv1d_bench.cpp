// Causal conv1d + SiLU at the mamba2-130m shape (conv_dim 1792, d_conv 4), one decode step and a
// 256-token block, per SIMD level against the scalar reference, in bytes/s and "%BW_peak".
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "bench/kernels/peak_counters.h"
#include "kernels/conv1d.h"
#include "kernels/simd.h"

namespace mamba2::kernels {
namespace {

constexpr int64_t kChannels = 1792;  // conv_dim = d_inner + 2 * ngroups * d_state
constexpr int64_t kTaps = 4;
constexpr int64_t kRowStride = 3352;  // xBC sits inside the in_proj output row (d_in_proj)

struct ConvBuffers {
  std::vector<float> in, state, weight, bias, out;

  explicit ConvBuffers(int64_t tokens)
      : in(tokens * kRowStride, 0.5f),          // [T, d_in_proj]
        state((kTaps - 1) * kChannels, 0.25f),  // [d_conv-1, C]
        weight(kTaps * kChannels, 0.125f),      // [d_conv, C]
        bias(kChannels, 0.0625f),               // [C]
        out(tokens * kChannels) {}              // [T, C]

  Conv1dArgs args(int64_t tokens) {
    return Conv1dArgs{in.data(),  kRowStride, state.data(), weight.data(), bias.data(),
                      out.data(), kChannels,  tokens,       kChannels,     kTaps};
  }
};

// Inputs read and outputs written (weights and state are small and stay in cache), and them
// against one core's streaming read rate (--roofline's probe): the conv is bound by memory, though
// a 256-token block's 3.7 MB come from L3 here, so it may go past 100 %.
void set_bytes(benchmark::State& state, int64_t tokens) {
  const int64_t bytes = tokens * kChannels * 2 * static_cast<int64_t>(sizeof(float));
  state.SetBytesProcessed(state.iterations() * bytes);
  set_percent_of_peak(state, "%BW_peak", static_cast<double>(bytes), memory_read_peak(1));
}

void BM_Conv1d(benchmark::State& state) {
  const int64_t tokens = state.range(0);
  const auto level = static_cast<SimdLevel>(state.range(1));
  if (!path_supported(level)) {
    state.SkipWithError("SIMD level not supported by this CPU");
    return;
  }
  ConvBuffers buffers(tokens);
  const Conv1dArgs args = buffers.args(tokens);
  for (auto _ : state) {
    dispatch_at(level, Conv1dKernel{}, args, int64_t{0}, kChannels);
    benchmark::DoNotOptimize(buffers.out.data());
  }
  set_bytes(state, tokens);
  state.SetLabel(std::string(path_name(level)));
}

void BM_Conv1dReference(benchmark::State& state) {
  const int64_t tokens = state.range(0);
  ConvBuffers buffers(tokens);
  const Conv1dArgs args = buffers.args(tokens);
  for (auto _ : state) {
    ref::conv1d_silu(args, 0, kChannels);
    benchmark::DoNotOptimize(buffers.out.data());
  }
  set_bytes(state, tokens);
}

BENCHMARK(BM_Conv1d)->ArgsProduct({{1, 64, 256}, {0, 1, 2}});
BENCHMARK(BM_Conv1dReference)->Arg(1)->Arg(256);

}  // namespace
}  // namespace mamba2::kernels
