// Projections with bf16 weights and f32 activations.
//
// Three ways to the product:
//  - kWiden (any CPU, xsimd, one instantiation per SIMD level): each weight is widened to f32
//    exactly (a bf16 is the top half of an f32) and multiplied by the f32 activation with FMAs.
//    Pairs of weights are read as one 32-bit word; its low half is the even weight, its high half
//    the odd one, so the activations are split once per call into even and odd inputs.
//  - kSgemm (any CPU, many tokens): panels of rows widened to f32 the same way, then OpenBLAS
//    sgemm as for f32 weights. The same exact products, summed in sgemm's order; the widening is
//    paid once per row and call, so it wins when a call has enough tokens to share it.
//  - kAvx512Bf16 (CPUs with AVX512-BF16): vdpbf16ps, two products per lane and instruction, as
//    an outer product: each instruction multiplies one pair of inputs of 16 tokens (the
//    activations laid out in pairs by token, as for kAmx) by a row's pair broadcast, so each
//    lane ends holding one token's output, with no sums across lanes. Its
//    inputs are bf16, so the activations are rounded to bf16 first (as ggml does for bf16
//    weights): each product then carries a relative error of at most 2^-9 from the activation,
//    so |y - y_exact| <= 2^-8 * sum|w x| with the accumulation. The GEMM path on AMD's
//    AVX512-BF16 cores (Zen 4 and later), where it does twice the FMA units' work per cycle;
//    not on Intel's: Sapphire Rapids issues vdpbf16ps once per two cycles (16 products per
//    cycle), half what its two FMA units do on widened weights, and it rounds.
//  - kAmx (CPUs with AMX-BF16, Linux granting the tile state): TDPBF16PS on 16 x 16 tiles, 8192
//    products per instruction, about 8x one core's f32 FMA rate here (1.9 TFLOP/s measured).
//    Activations rounded to bf16 as for kAvx512Bf16, with the same error bound; W rows are the A
//    tiles (in the tile layout below, prepared once at load; W as stored is read in place, or
//    for many tokens from a per-call copy of a 256-row panel packed tile by tile), the
//    activations are laid out as the B tiles want them, and the C tiles [row][token] are
//    transposed in registers on their way to y [token][row].
// bf16_path() picks kWiden for few tokens or separate sequences (decode: exact, and memory-bound
// anyway; every row gets the bits it gets alone), and for many tokens of one sequence kAmx where
// the CPU has it (prefill is compute-bound and AMX is the one unit fast enough to matter), else
// kAvx512Bf16 where it outruns FMAs, else kSgemm. Within a path a row's result never depends on the
// rows or tokens computed with it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/aligned_vector.h"
#include "kernels/kernel_path.h"
#include "kernels/matmul_operands.h"

namespace mamba2::kernels {

enum class Bf16Path { kScalar = 0, kWiden = 1, kAvx512Bf16 = 2, kSgemm = 3, kAmx = 4 };

// The fewest tokens for which bf16_path() picks a GEMM path (kAmx, kAvx512Bf16 or kSgemm).
constexpr int64_t kBf16GemmMinTokens = 16;

// scalar, widen, avx512bf16, sgemm, amx; supported: kScalar, kWiden and kSgemm always;
// kAvx512Bf16 with AVX512-BF16 and the avx512 SIMD level; kAmx with AMX-BF16, the avx512 SIMD
// level and the kernel's permission to use the tiles.
std::span<const PathInfo<Bf16Path>> path_table(Bf16Path);
// The fastest supported path for a call with this many tokens; kWiden for separate sequences.
Bf16Path bf16_path(int64_t tokens, TokenRows rows = TokenRows::kOneSequence);

// The activations of one call as a path reads them.
struct Bf16Activations {
  Bf16Path path = Bf16Path::kScalar;  // the layout below
  int64_t tokens = 0;
  int64_t k = 0;
  int64_t padded_k = 0;          // kAvx512Bf16, kAmx: k rounded up to 32
  int64_t padded_tokens = 0;     // kAvx512Bf16, kAmx: tokens rounded up to 32
  AlignedVector<float> even;     // kWiden: [tokens, k / 2], x[2i]
  AlignedVector<float> odd;      // kWiden: [tokens, k / 2], x[2i + 1]
  AlignedVector<uint16_t> bf16;  // kAvx512Bf16, kAmx: [padded_tokens / 16, padded_k / 2, 16, 2],
                                 // pairs of inputs (x[t][2i], x[t][2i + 1]) by token,
                                 // zero-padded: 16 tokens' pair i is one 64-byte line (a
                                 // vdpbf16ps operand), each AMX B tile (16 pairs by 16 tokens)
                                 // 1 KiB in one piece, and a 16-token group's tiles follow
                                 // each other

  void resize(Bf16Path path, int64_t token_count, int64_t k_inputs);
};

// Converts rows [t_begin, t_end) of x [tokens, K] into `out` in the layout of the path it was
// resized for; throws Error for rows past it. Disjoint token ranges may run on different threads.
void prepare_activations_bf16(MatView<const float> x, int64_t t_begin, int64_t t_end,
                              Bf16Activations& out);

// y[t, n] for n in [n_begin, n_end) and every token; args.w holds bf16 rows [N, K].
void matmul_bf16(Bf16Path path, const MatmulOperands& args, const Bf16Activations& prepared,
                 int64_t n_begin, int64_t n_end);

// The AMX tile layout (WeightLayout::kBf16AmxTiles16), chosen where prompts run on kAmx or
// kAvx512Bf16 (bf16_path()): each group of 16
// rows is [K / 32][16][32], so the rows' inputs 32s..32s+31 are one 1 KiB A tile in one piece
// (16 lines, not 16 lines a row apart). The groups follow each other down N; the N % 16 rows
// past the last group follow them as stored (interleave.h), so the layout takes exactly the
// stored bytes and is made in place at load. kAmx reads its tiles with no per-call packing,
// kAvx512Bf16 each row's 32-input pieces a pair at a time (eight rows of a group), kWiden
// reads each row's 32-input pieces (a GEMV: a group at a time; 2..16 tokens: whole tiles in spans
// along K, every token per widened piece) and so does the reference.
constexpr int64_t kBf16TileRows = 16;
constexpr int64_t kBf16TileInputs = 32;  // along K: K must be a multiple

// Whether W [n, k] fits the tile layout and this CPU runs prompts on a path that reads it.
bool bf16_tiles_supported(int64_t n, int64_t k);
// Element offset of W[r][i] for r in the groups: group, then step of K, then row, then input.
constexpr int64_t bf16_tile_offset(int64_t r, int64_t i, int64_t k) {
  return r / kBf16TileRows * kBf16TileRows * k +
         i / kBf16TileInputs * kBf16TileRows * kBf16TileInputs +
         r % kBf16TileRows * kBf16TileInputs + i % kBf16TileInputs;
}
// Writes rows [n_begin, n_end) (multiples of 16 below interleaved_rows(n)) of W [n, k] stored as
// bf16 rows to `out` in the tile layout, as interleave() does for the other layouts.
void interleave_bf16_tiles(const std::byte* rows, int64_t n, int64_t k, int64_t n_begin,
                           int64_t n_end, std::byte* out);
// Row `row` (in the groups) of W [n, k] in the tile layout, as its stored k bf16 values.
void deinterleave_bf16_tiles_row(const std::byte* tiles, int64_t k, int64_t row, std::byte* out);

namespace ref {
// Widened weights, double accumulation: the reference every path is tested against.
void matmul_bf16(const MatmulOperands& args, int64_t n_begin, int64_t n_end);
}  // namespace ref

// How the kWiden body reads the tile layout for a batch of 2..kBf16GemmMinTokens tokens.
enum class Bf16TileBatch {
  kAuto,            // spans where AMX is (measured faster there), register blocks elsewhere
  kSpans,           // each 16-row group front to back in spans of tiles (AVX-512 only)
  kRegisterBlocks,  // rows by four tokens, as for longer prompts
};

// The kWiden body (matmul_bf16_simd.cpp), instantiated per SIMD level. Tests and benchmarks set
// `tile_batch` to run either batch reader on any CPU; both give the same bits.
struct Bf16WidenKernel {
  Bf16TileBatch tile_batch = Bf16TileBatch::kAuto;

  template <class Arch>
  void operator()(Arch, const MatmulOperands& args, const Bf16Activations& prepared,
                  int64_t n_begin, int64_t n_end) const;
};

namespace bf16_detail {
// The activations' pair layout of kAvx512Bf16 and kAmx, and the kAvx512Bf16 body
// (matmul_bf16_avx512bf16.cpp).
void to_bf16_pairs_avx512(MatView<const float> x, int64_t t_begin, int64_t t_end,
                          Bf16Activations& out);
void matmul_avx512bf16(const MatmulOperands& args, const Bf16Activations& prepared, int64_t n_begin,
                       int64_t n_end);
// The kAmx bodies (matmul_bf16_amx.cpp).
bool amx_bf16_usable();
void matmul_amx(const MatmulOperands& args, const Bf16Activations& prepared, int64_t n_begin,
                int64_t n_end);
// The kSgemm body (matmul_bf16_sgemm.cpp): reads args.x directly.
void matmul_sgemm(const MatmulOperands& args, int64_t n_begin, int64_t n_end);
}  // namespace bf16_detail

}  // namespace mamba2::kernels
