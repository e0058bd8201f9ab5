// Projections by weight type at the Mamba-2 model shapes: f32, bf16, the integer-kernel block types
// (q8_0, q4_0, q4_K, q5_K, q6_K) each on every path this CPU has, and the other block types
// through dequantized panels. T = 1 (GEMV) reports GB/s of weights read, with the weights either
// resident in cache (one copy, read again each iteration) or streamed from memory (copies filling 1
// GiB, one per iteration, as decode reads each layer's weights once per token). T = 256 (a prefill
// chunk, GEMM) reports GFLOP/s (2 N K T). Counters "%BW_peak" (streamed weights) and "%FMA_peak",
// "%BF16_peak", "%AMX_peak" or "%VNNI_peak" (GEMM, by the arithmetic the path runs) set these
// against the --roofline probes (peak_counters.h). The activation conversion (q8_0 blocks, bf16) is
// part of the time, as in the engine. On one thread (a whole call), or on two in the engine's row
// tiles.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "bench/kernels/peak_counters.h"
#include "bench/kernels/projection_shapes.h"
#include "kernels/aligned_vector.h"
#include "kernels/interleave.h"
#include "kernels/matmul.h"
#include "kernels/matmul_dispatch.h"
#include "mamba2/threading_context.h"
#include "quant/row_conversion.h"

namespace mamba2::kernels {
namespace {

constexpr int64_t kStreamedBytes = int64_t{1} << 30;

struct Problem {
  int64_t tokens;
  Shape shape;
  DType type;
  AlignedVector<float> x;  // as the engine's activations, on a cache line
  std::vector<float> bias, y;
  std::vector<std::byte> w;  // `copies` copies of W, one after another
  int64_t copies = 1;
  int64_t next_copy = 0;

  Problem(int64_t t, const Shape& s, DType weight_type, bool streamed)
      : tokens(t), shape(s), type(weight_type), bias(s.n, 0.125f), y(t * s.n) {
    x.resize(t * s.k);  // [T, K], varied so q8_0 blocks have real scales
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(int(i * 7919 % 255) - 127) / 64;
    std::vector<float> row(s.k);
    const int64_t row_bytes = static_cast<int64_t>(*dtype_bytes(type, s.k));
    w.resize(static_cast<size_t>(s.n * row_bytes));  // [N, K] of type
    for (int64_t r = 0; r < s.n; ++r) {
      for (int64_t i = 0; i < s.k; ++i)
        row[i] = static_cast<float>((r * 31 + i * 17) % 97 - 48) / 256;
      convert_row_from_f32(type, row.data(), &w[r * row_bytes], s.k);
    }
    if (!streamed) return;
    const auto bytes = static_cast<int64_t>(w.size());
    copies = std::max<int64_t>(1, kStreamedBytes / bytes);
    w.resize(static_cast<size_t>(copies * bytes));
    for (int64_t c = 1; c < copies; ++c) std::memcpy(&w[c * bytes], w.data(), bytes);
  }

  int64_t weight_bytes() const { return static_cast<int64_t>(w.size()) / copies; }

  // Rewrites every copy of W in `layout` (kernels/interleave.h).
  void interleave(WeightLayout layout) {
    const int64_t bytes = interleaved_bytes(layout, type, shape.n, shape.k);
    std::vector<std::byte> out(static_cast<size_t>(copies * bytes));
    for (int64_t c = 0; c < copies; ++c) {
      kernels::interleave(layout, type, &w[c * weight_bytes()], shape.n, shape.k, 0, shape.n,
                          &out[c * bytes]);
    }
    w = std::move(out);
  }

  // The next copy of W, cycling through all of them.
  MatmulOperands args() {
    const std::byte* copy = w.data() + next_copy * weight_bytes();
    next_copy = (next_copy + 1) % copies;
    return {.x = {x.data(), tokens, shape.k, shape.k},
            .w = {type, copy, shape.n, shape.k},
            .bias = bias.data(),
            .y = {y.data(), tokens, shape.n, shape.n}};
  }
};

// Runs fn(begin, end) over W's rows: as one call on one thread, or on a TBB arena of `threads`
// in the engine's row tiles (128 rows for a GEMV, 256 for a GEMM).
class RowRunner {
 public:
  explicit RowRunner(int threads) : threading_(threads) {}

  template <class Fn>
  void run(int64_t n, int64_t tokens, const Fn& fn) {
    if (threading_.threads() == 1) return fn(int64_t{0}, n);
    threading_.execute([&] { threading_.for_tiles(n, tokens == 1 ? 128 : 256, fn); });
  }

  int threads() const { return threading_.threads(); }

 private:
  ThreadingContext threading_;
};

// The arithmetic a benchmark's GEMM is bound by: its name in the "%<name>_peak" counter and one
// core's peak rate (nullopt where the CPU has none to compare with).
struct Arithmetic {
  std::string name;
  std::optional<double> core_peak;
};

Arithmetic fma() { return {"FMA", core_fma_peak(simd_level())}; }

void report(benchmark::State& state, const Problem& p, const std::string& path,
            const RowRunner& rows, const Arithmetic& arithmetic) {
  const auto& s = p.shape;
  // Weights streamed from memory (decode, batched decode): GB/s and % of the read bandwidth of as
  // many threads; several tokens: GFLOP/s and % of the arithmetic's peak too.
  if (p.tokens == 1 || p.copies > 1) {
    state.SetBytesProcessed(state.iterations() * p.weight_bytes());
  }
  if (p.copies > 1) {
    set_percent_of_peak(state, "%BW_peak", static_cast<double>(p.weight_bytes()),
                        memory_read_peak(rows.threads()));
  }
  if (p.tokens > 1) {
    const double flops = 2.0 * static_cast<double>(p.tokens * s.n * s.k);
    state.counters["GFLOP/s"] = benchmark::Counter(
        static_cast<double>(state.iterations()) * flops / 1e9, benchmark::Counter::kIsRate);
    set_percent_of_peak(state, "%" + arithmetic.name + "_peak", flops, arithmetic.core_peak,
                        rows.threads());
  }
  std::string label = std::string(s.name) + " " + std::string(dtype_name(p.type)) + " " + path;
  if (p.copies > 1) label += " streamed";
  if (rows.threads() > 1)
    label.append(" ").append(std::to_string(rows.threads())).append(" threads");
  state.SetLabel(label);
}

// Args: shape index, tokens, streamed, threads.
void BM_F32(benchmark::State& state) {
  Problem p(state.range(1), kShapes[state.range(0)], DType::kF32, state.range(2) != 0);
  RowRunner rows(static_cast<int>(state.range(3)));
  for (auto _ : state) {
    const MatmulOperands args = p.args();
    rows.run(p.shape.n, p.tokens, [&](int64_t begin, int64_t end) { matmul(args, begin, end); });
    benchmark::DoNotOptimize(p.y.data());
  }
  report(state, p, p.tokens <= kGemvMaxTokens ? "xsimd gemv" : "openblas sgemm", rows, fma());
}

// Args: shape index, tokens, Bf16Path, streamed, threads. W as stored, or (tiles) in the AMX tile
// layout the engine prepares at load where it runs kAmx (matmul_bf16.h).
void run_bf16(benchmark::State& state, bool tiles) {
  const auto path = static_cast<Bf16Path>(state.range(2));
  if (!path_supported(path)) return state.SkipWithError("path not supported by this CPU");
  Problem p(state.range(1), kShapes[state.range(0)], DType::kBF16, state.range(3) != 0);
  const WeightLayout layout = interleaved_layout(DType::kBF16, p.shape.n, p.shape.k);
  if (tiles) {
    if (layout != WeightLayout::kBf16AmxTiles16) {
      return state.SkipWithError("no AMX tile layout for this shape on this CPU");
    }
    p.interleave(layout);
  }
  RowRunner rows(static_cast<int>(state.range(4)));
  Bf16Activations prepared;
  prepared.resize(path, p.tokens, p.shape.k);
  for (auto _ : state) {
    MatmulOperands args = p.args();
    if (tiles) args.w.layout = layout;
    prepare_activations_bf16(args.x, 0, p.tokens, prepared);
    rows.run(p.shape.n, p.tokens,
             [&](int64_t begin, int64_t end) { matmul_bf16(path, args, prepared, begin, end); });
    benchmark::DoNotOptimize(p.y.data());
  }
  const std::string arithmetic = path == Bf16Path::kAvx512Bf16 ? "BF16"
                                 : path == Bf16Path::kAmx      ? "AMX"
                                                               : "FMA";
  report(state, p, std::string(path_name(path)) + (tiles ? " tiles" : ""), rows,
         {arithmetic, core_bf16_peak(path)});
}

void BM_Bf16(benchmark::State& state) { run_bf16(state, false); }
void BM_Bf16Tiles(benchmark::State& state) { run_bf16(state, true); }

// A decode batch over the tile layout, read either way on any CPU with AVX-512 (the engine picks
// spans only where AMX is). Args: shape index, tokens, Bf16TileBatch (1 spans, 2 register
// blocks), streamed.
void BM_Bf16TileBatch(benchmark::State& state) {
  if (simd_level() != SimdLevel::kAvx512) return state.SkipWithError("spans need AVX-512");
  const auto batch = static_cast<Bf16TileBatch>(state.range(2));
  Problem p(state.range(1), kShapes[state.range(0)], DType::kBF16, state.range(3) != 0);
  const WeightLayout layout = WeightLayout::kBf16AmxTiles16;
  if (p.shape.k % kBf16TileInputs != 0) return state.SkipWithError("K is not whole tiles");
  p.interleave(layout);
  RowRunner rows(1);
  Bf16Activations prepared;
  prepared.resize(Bf16Path::kWiden, p.tokens, p.shape.k);
  for (auto _ : state) {
    MatmulOperands args = p.args();
    args.w.layout = layout;
    prepare_activations_bf16(args.x, 0, p.tokens, prepared);
    dispatch(Bf16WidenKernel{batch}, args, prepared, int64_t{0}, p.shape.n);
    benchmark::DoNotOptimize(p.y.data());
  }
  report(state, p,
         batch == Bf16TileBatch::kSpans ? "widen tiles, spans" : "widen tiles, register blocks",
         rows, fma());
}

// Args: shape index, tokens, QuantPath, streamed, interleaved (the AVX512-VNNI layout), threads,
// DType.
void BM_Quant(benchmark::State& state) {
  const auto path = static_cast<QuantPath>(state.range(2));
  if (!path_supported(path)) return state.SkipWithError("path not supported by this CPU");
  const auto type = static_cast<DType>(state.range(6));
  Problem p(state.range(1), kShapes[state.range(0)], type, state.range(3) != 0);
  const bool interleaved = state.range(4) != 0;
  const WeightLayout layout = interleaved_layout(type, p.shape.n, p.shape.k);
  if (interleaved) {
    if (path != QuantPath::kAvx512Vnni || layout == WeightLayout::kRows) {
      return state.SkipWithError("no interleaved layout for this type and shape on this path");
    }
    p.interleave(layout);
  }
  RowRunner rows(static_cast<int>(state.range(5)));
  Q8_0Activations xq;
  xq.resize(p.tokens, p.shape.k);
  for (auto _ : state) {
    MatmulOperands args = p.args();
    if (interleaved) args.w.layout = layout;
    quantize_activations_q8_0(path, args.x, 0, p.tokens, xq);
    rows.run(p.shape.n, p.tokens,
             [&](int64_t begin, int64_t end) { matmul_quant(path, args, xq, begin, end); });
    benchmark::DoNotOptimize(p.y.data());
  }
  report(state, p, std::string(path_name(path)) + (interleaved ? " interleaved" : ""), rows,
         {"VNNI", core_vnni_peak(path)});
}

// The activations' q8_0 quantization alone, per path: a 256-token block's rows of K inputs, in
// inputs per second. Args: shape index (its K), QuantPath.
void BM_QuantizeActivations(benchmark::State& state) {
  const auto path = static_cast<QuantPath>(state.range(1));
  if (!path_supported(path)) return state.SkipWithError("path not supported by this CPU");
  const Problem p(256, kShapes[state.range(0)], DType::kQ8_0, false);
  Q8_0Activations xq;
  xq.resize(p.tokens, p.shape.k);
  const MatView<const float> x{p.x.data(), p.tokens, p.shape.k, p.shape.k};
  for (auto _ : state) {
    quantize_activations_q8_0(path, x, 0, p.tokens, xq);
    benchmark::DoNotOptimize(xq.quants.data());
  }
  state.SetItemsProcessed(state.iterations() * p.tokens * p.shape.k);
  state.SetLabel(std::string(path_name(path)) + ", K " + std::to_string(p.shape.k));
}

// The types without an integer kernel, through the engine's entry point (dequantized panels).
// Args: shape index, tokens, DType, streamed, threads.
void BM_Dequant(benchmark::State& state) {
  Problem p(state.range(1), kShapes[state.range(0)], static_cast<DType>(state.range(2)),
            state.range(3) != 0);
  RowRunner rows(static_cast<int>(state.range(4)));
  for (auto _ : state) {
    const MatmulOperands args = p.args();
    MatmulInput input(args);
    input.convert_all();
    rows.run(p.shape.n, p.tokens, [&](int64_t begin, int64_t end) { matmul(input, begin, end); });
    benchmark::DoNotOptimize(p.y.data());
  }
  report(state, p, "dequantized panels", rows, fma());
}

constexpr int kWiden = static_cast<int>(Bf16Path::kWiden);
constexpr int kAvx512Bf16 = static_cast<int>(Bf16Path::kAvx512Bf16);
constexpr int kBf16Sgemm = static_cast<int>(Bf16Path::kSgemm);
constexpr int kBf16Amx = static_cast<int>(Bf16Path::kAmx);
constexpr int kQ8Scalar = static_cast<int>(QuantPath::kScalar);
constexpr int kQ8Avx2 = static_cast<int>(QuantPath::kAvx2);
constexpr int kQ8AvxVnni = static_cast<int>(QuantPath::kAvxVnni);
constexpr int kQ8Avx512Vnni = static_cast<int>(QuantPath::kAvx512Vnni);

constexpr std::initializer_list<int64_t> kAllShapes = {0, 1, 2, 3, 4, 5, 6, 7};
constexpr auto kQ8_0 = static_cast<int64_t>(DType::kQ8_0);
constexpr auto kQ4_0 = static_cast<int64_t>(DType::kQ4_0);
constexpr auto kQ4_K = static_cast<int64_t>(DType::kQ4_K);
constexpr auto kQ5_K = static_cast<int64_t>(DType::kQ5_K);
constexpr auto kQ6_K = static_cast<int64_t>(DType::kQ6_K);
constexpr std::initializer_list<int64_t> kIntegerTypes = {kQ4_0, kQ4_K, kQ5_K, kQ6_K};
constexpr std::initializer_list<int64_t> kDequantTypes = {
    static_cast<int64_t>(DType::kF16),    static_cast<int64_t>(DType::kQ4_1),
    static_cast<int64_t>(DType::kQ5_0),   static_cast<int64_t>(DType::kQ5_1),
    static_cast<int64_t>(DType::kQ2_K),   static_cast<int64_t>(DType::kQ3_K),
    static_cast<int64_t>(DType::kIQ4_NL), static_cast<int64_t>(DType::kIQ4_XS)};

// One thread: every path, resident and streamed GEMV, and GEMM.
BENCHMARK(BM_F32)->ArgsProduct({kAllShapes, {1}, {0, 1}, {1}});
BENCHMARK(BM_Bf16)->ArgsProduct({kAllShapes, {1}, {kWiden, kAvx512Bf16}, {0, 1}, {1}});
BENCHMARK(BM_QuantizeActivations)
    ->ArgsProduct({{0, 1}, {kQ8Scalar, kQ8Avx2, kQ8AvxVnni, kQ8Avx512Vnni}})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Quant)->ArgsProduct(
    {kAllShapes, {1}, {kQ8Scalar, kQ8Avx2, kQ8AvxVnni, kQ8Avx512Vnni}, {0, 1}, {0}, {1}, {kQ8_0}});
BENCHMARK(BM_Quant)->ArgsProduct({kAllShapes, {1}, {kQ8Avx512Vnni}, {0, 1}, {1}, {1}, {kQ8_0}});
// Batched decode: 8 sessions' tokens against W in cache and streamed from memory.
BENCHMARK(BM_F32)->ArgsProduct({kAllShapes, {8}, {0, 1}, {1}});
BENCHMARK(BM_Bf16)->ArgsProduct({kAllShapes, {8}, {kWiden, kAvx512Bf16}, {0, 1}, {1}});
BENCHMARK(BM_Quant)->ArgsProduct({kAllShapes, {8}, {kQ8Avx512Vnni}, {0, 1}, {1}, {1}, {kQ8_0}});
BENCHMARK(BM_F32)->ArgsProduct({kAllShapes, {256}, {0}, {1}})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Bf16)
    ->ArgsProduct({kAllShapes, {256}, {kWiden, kAvx512Bf16, kBf16Sgemm, kBf16Amx}, {0}, {1}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Quant)
    ->ArgsProduct({kAllShapes, {256}, {kQ8Avx2, kQ8AvxVnni, kQ8Avx512Vnni}, {0}, {0}, {1}, {kQ8_0}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Quant)
    ->ArgsProduct({kAllShapes, {256}, {kQ8Avx512Vnni}, {0}, {1}, {1}, {kQ8_0}})
    ->Unit(benchmark::kMillisecond);

// bf16 in AMX tiles, as the engine reads it on CPUs with AMX or AMD's AVX512-BF16: GEMV and
// batched decode (resident and streamed), short and long prompts on one thread; streamed GEMV,
// batched decode and GEMM on two.
// BM_Bf16 at 64 tokens (and 8 on two threads) gives W as stored to compare.
BENCHMARK(BM_Bf16Tiles)->ArgsProduct({kAllShapes, {1, 8}, {kWiden}, {0, 1}, {1}});
// Other small batches (decode of 2..16 sessions, short prompts) on the 130m shapes, in tiles and
// as stored.
BENCHMARK(BM_Bf16Tiles)->ArgsProduct({{0, 1}, {2, 3, 4, 12, 16}, {kWiden}, {0, 1}, {1}});
BENCHMARK(BM_Bf16)->ArgsProduct({{0, 1}, {2, 3, 4, 12, 16}, {kWiden}, {0, 1}, {1}});
// The two readers of a decode batch over tiles: the span reader runs in the engine only where AMX
// is, having measured 0.6-0.7x the register blocks on Zen 5 (8 tokens, in_proj and out_proj).
BENCHMARK(BM_Bf16TileBatch)->ArgsProduct({{0, 1}, {2, 8, 16}, {1, 2}, {0, 1}});
BENCHMARK(BM_Bf16)
    ->ArgsProduct({kAllShapes, {64}, {kBf16Amx}, {0}, {1}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Bf16Tiles)
    ->ArgsProduct({kAllShapes, {64, 256}, {kAvx512Bf16, kBf16Amx}, {0}, {1}})
    ->Unit(benchmark::kMillisecond);
// A short prompt's GEMM as the engine meets it: W from memory (the kernels' prefetch at work).
BENCHMARK(BM_Bf16Tiles)
    ->ArgsProduct({{0, 1}, {64}, {kAvx512Bf16, kBf16Amx}, {1}, {1}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Bf16Tiles)->ArgsProduct({kAllShapes, {1, 8}, {kWiden}, {1}, {2}})->UseRealTime();
BENCHMARK(BM_Bf16)->ArgsProduct({kAllShapes, {8}, {kWiden}, {1}, {2}})->UseRealTime();
BENCHMARK(BM_Bf16Tiles)
    ->ArgsProduct({kAllShapes, {256}, {kAvx512Bf16, kBf16Amx}, {0}, {2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The other integer-kernel types: GEMV (resident and streamed) and GEMM on every path, one
// thread; then the engine's path on two threads.
BENCHMARK(BM_Quant)->ArgsProduct({kAllShapes,
                                  {1},
                                  {kQ8Scalar, kQ8Avx2, kQ8AvxVnni, kQ8Avx512Vnni},
                                  {0, 1},
                                  {0},
                                  {1},
                                  kIntegerTypes});
BENCHMARK(BM_Quant)
    ->ArgsProduct(
        {kAllShapes, {256}, {kQ8Avx2, kQ8AvxVnni, kQ8Avx512Vnni}, {0}, {0}, {1}, kIntegerTypes})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Quant)
    ->ArgsProduct({kAllShapes, {1}, {kQ8Avx512Vnni}, {1}, {0}, {2}, kIntegerTypes})
    ->UseRealTime();
BENCHMARK(BM_Quant)
    ->ArgsProduct({kAllShapes, {256}, {kQ8Avx512Vnni}, {0}, {0}, {2}, kIntegerTypes})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
// Q4_0, Q4_K and Q6_K interleaved (matmul_q4.h), as the engine reads them on AVX512-VNNI: GEMV,
// batched decode and GEMM on one thread, then streamed GEMV and GEMM on two.
constexpr std::initializer_list<int64_t> kInterleaved4Bit = {kQ4_0, kQ4_K, kQ6_K};
BENCHMARK(BM_Quant)->ArgsProduct(
    {kAllShapes, {1, 8}, {kQ8Avx512Vnni}, {0, 1}, {1}, {1}, kInterleaved4Bit});
BENCHMARK(BM_Quant)
    ->ArgsProduct({kAllShapes, {256}, {kQ8Avx512Vnni}, {0}, {1}, {1}, kInterleaved4Bit})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Quant)
    ->ArgsProduct({kAllShapes, {1}, {kQ8Avx512Vnni}, {1}, {1}, {2}, kInterleaved4Bit})
    ->UseRealTime();
BENCHMARK(BM_Quant)
    ->ArgsProduct({kAllShapes, {256}, {kQ8Avx512Vnni}, {0}, {1}, {2}, kInterleaved4Bit})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
// Every other type: streamed GEMV and GEMM, one thread.
BENCHMARK(BM_Dequant)->ArgsProduct({kAllShapes, {1}, kDequantTypes, {1}, {1}});
BENCHMARK(BM_Dequant)
    ->ArgsProduct({kAllShapes, {256}, kDequantTypes, {0}, {1}})
    ->Unit(benchmark::kMillisecond);

// Two threads, the paths the engine picks here: streamed GEMV and GEMM.
BENCHMARK(BM_F32)->ArgsProduct({kAllShapes, {1}, {1}, {2}})->UseRealTime();
BENCHMARK(BM_Bf16)->ArgsProduct({kAllShapes, {1}, {kWiden}, {1}, {2}})->UseRealTime();
BENCHMARK(BM_Quant)
    ->ArgsProduct({kAllShapes, {1}, {kQ8Avx512Vnni}, {1}, {1}, {2}, {kQ8_0}})
    ->UseRealTime();
BENCHMARK(BM_F32)
    ->ArgsProduct({kAllShapes, {256}, {0}, {2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_Bf16)
    ->ArgsProduct({kAllShapes, {256}, {kBf16Sgemm, kBf16Amx}, {0}, {2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_Quant)
    ->ArgsProduct({kAllShapes, {256}, {kQ8Avx512Vnni}, {0}, {1}, {2}, {kQ8_0}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace mamba2::kernels
