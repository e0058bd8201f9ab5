#include "kernels/matmul_bf16.h"

#include <cstring>
#include <string>

#include "kernels/simd.h"
#include "mamba2/error.h"
#include "quant/float16.h"

namespace mamba2::kernels {
namespace {

bool cpu_has_avx512_bf16() {
  static const bool has = __builtin_cpu_supports("avx512bf16") != 0;
  return has;
}

// Whether vdpbf16ps outruns f32 FMAs: on AMD's AVX512-BF16 cores (Zen 4 and later) it does twice
// their work per cycle; on Intel's (Cooper Lake, Sapphire Rapids) half as much (here, one core:
// 100-114 GFLOP/s against 190-203), where sgemm wins.
bool cpu_dot_bf16_beats_fma() {
  static const bool beats = __builtin_cpu_is("amd") != 0;
  return beats;
}

// W[n][i] as f32, in either layout.
float weight_at(const WeightView& w, int64_t n, int64_t i) {
  const bool tiles =
      w.layout == WeightLayout::kBf16AmxTiles16 && n < w.rows / kBf16TileRows * kBf16TileRows;
  uint16_t bits;
  std::memcpy(&bits, w.data + 2 * (tiles ? bf16_tile_offset(n, i, w.cols) : n * w.cols + i),
              sizeof bits);
  return bf16_to_f32(bits);
}

}  // namespace

std::span<const PathInfo<Bf16Path>> path_table(Bf16Path) {
  static constexpr PathInfo<Bf16Path> kTable[] = {
      {Bf16Path::kScalar, "scalar", any_cpu},
      {Bf16Path::kWiden, "widen", any_cpu},
      {Bf16Path::kAvx512Bf16, "avx512bf16",
       [] { return simd_level() >= SimdLevel::kAvx512 && cpu_has_avx512_bf16(); }},
      {Bf16Path::kSgemm, "sgemm", any_cpu},
      {Bf16Path::kAmx, "amx",
       [] {
         return simd_level() >= SimdLevel::kAvx512 && cpu_has_avx512_bf16() &&
                bf16_detail::amx_bf16_usable();
       }},
  };
  return kTable;
}

Bf16Path bf16_path(int64_t tokens, TokenRows rows) {
  // Few tokens: widening, exact and as fast as memory lets a GEMV go. Many: AMX where there is
  // one; else vdpbf16ps where it outruns FMAs (its GEMM reaches 80-90 % of the instruction's
  // rate); else sgemm, whose blocking beats our widening tiles (130m pp512 ~1.3x).
  if (tokens < kBf16GemmMinTokens || rows == TokenRows::kSeparateSequences) return Bf16Path::kWiden;
  static const Bf16Path gemm = path_supported(Bf16Path::kAmx) ? Bf16Path::kAmx
                               : path_supported(Bf16Path::kAvx512Bf16) && cpu_dot_bf16_beats_fma()
                                   ? Bf16Path::kAvx512Bf16
                                   : Bf16Path::kSgemm;
  return gemm;
}

void Bf16Activations::resize(Bf16Path layout, int64_t token_count, int64_t k_inputs) {
  path = layout;
  tokens = token_count;
  k = k_inputs;
  padded_k = (k + 31) / 32 * 32;
  padded_tokens = (tokens + 31) / 32 * 32;
  even.clear();
  odd.clear();
  bf16.clear();
  if (path == Bf16Path::kWiden) {
    even.resize(static_cast<size_t>(tokens * (k / 2)));
    odd.resize(static_cast<size_t>(tokens * (k / 2)));
  } else if (path == Bf16Path::kAvx512Bf16 || path == Bf16Path::kAmx) {
    bf16.resize(static_cast<size_t>(padded_tokens * padded_k));
  }
}

void prepare_activations_bf16(MatView<const float> x, int64_t t_begin, int64_t t_end,
                              Bf16Activations& out) {
  if (t_begin < 0 || t_end > out.tokens) {
    throw Error("prepare_activations_bf16", "tokens [" + std::to_string(t_begin) + ", " +
                                                std::to_string(t_end) + ") past the " +
                                                std::to_string(out.tokens) + " resized for");
  }
  const Bf16Path path = out.path;
  if (path == Bf16Path::kAvx512Bf16 || path == Bf16Path::kAmx) {
    return bf16_detail::to_bf16_pairs_avx512(x, t_begin, t_end, out);
  }
  if (path != Bf16Path::kWiden) return;
  const int64_t pairs = out.k / 2;
  for (int64_t t = t_begin; t < t_end; ++t) {
    const float* row = x.row(t);  // [K]
    for (int64_t i = 0; i < pairs; ++i) {
      out.even[t * pairs + i] = row[2 * i];
      out.odd[t * pairs + i] = row[2 * i + 1];
    }
  }
}

void matmul_bf16(Bf16Path path, const MatmulOperands& args, const Bf16Activations& prepared,
                 int64_t n_begin, int64_t n_end) {
  args.check_shapes("matmul_bf16");
  if (n_begin >= n_end || args.tokens() <= 0) return;
  // The kernels index the prepared activations by the call's shape and their path's layout: a
  // mismatch would read past them.
  const bool reads_prepared =
      path == Bf16Path::kWiden || path == Bf16Path::kAvx512Bf16 || path == Bf16Path::kAmx;
  if (reads_prepared &&
      (prepared.path != path || prepared.k != args.k() || prepared.tokens < args.tokens())) {
    throw Error("matmul_bf16", "activations prepared for another shape or path");
  }
  // The tile layout is chosen only where kAmx or kAvx512Bf16 runs prompts, and is read by them,
  // by kWiden (few tokens) and by the reference; kSgemm reads rows as stored.
  const WeightLayout layout = args.w.layout;
  if (layout != WeightLayout::kRows &&
      (layout != WeightLayout::kBf16AmxTiles16 || args.k() % kBf16TileInputs != 0 ||
       path == Bf16Path::kSgemm)) {
    throw Error("matmul_bf16",
                "weights in the AMX tile layout need whole tiles along K and the "
                "amx, avx512bf16, widen or scalar path");
  }
  switch (path) {
    case Bf16Path::kWiden:
      return dispatch(Bf16WidenKernel{}, args, prepared, n_begin, n_end);
    case Bf16Path::kAvx512Bf16:
      return bf16_detail::matmul_avx512bf16(args, prepared, n_begin, n_end);
    case Bf16Path::kSgemm:
      return bf16_detail::matmul_sgemm(args, n_begin, n_end);
    case Bf16Path::kAmx:
      return bf16_detail::matmul_amx(args, prepared, n_begin, n_end);
    case Bf16Path::kScalar:
      break;
  }
  ref::matmul_bf16(args, n_begin, n_end);
}

namespace ref {

void matmul_bf16(const MatmulOperands& args, int64_t n_begin, int64_t n_end) {
  const int64_t k = args.k();
  for (int64_t t = 0; t < args.tokens(); ++t) {
    const float* x = args.x.row(t);  // [K]
    for (int64_t n = n_begin; n < n_end; ++n) {
      double acc = 0.0;
      for (int64_t i = 0; i < k; ++i) acc += static_cast<double>(x[i]) * weight_at(args.w, n, i);
      args.y.row(t)[n] = static_cast<float>(acc) + (args.bias ? args.bias[n] : 0.0f);
    }
  }
}

}  // namespace ref
}  // namespace mamba2::kernels
