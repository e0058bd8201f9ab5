// The weights as the engine reads them: pointers into the model's tensors, plus the few tensors
// prepared once in another layout (the conv filter transposed to tap-major; q8_0, q4_0 and q4_K
// projections interleaved for the AVX512-VNNI kernels, see kernels/interleave.h: in place when
// the model alone holds their bytes, else in a copy; bf16 projections in AMX tiles on CPUs with
// AMX, in place only; f32 projections in panels for our GEMM where it beats OpenBLAS, see
// kernels/matmul_f32_panels.h). Projections and the
// embedding stay in their stored type, whatever it is (kernels/matmul_dispatch.h reads every
// type), so a quantized model's resident memory is about its file's size; only small tensors
// (norms, conv, A, D, biases) not in f32 are widened to f32 once here.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/mat_view.h"
#include "mamba2/dtype.h"
#include "mamba2/model.h"
#include "mamba2/model_weights.h"

namespace mamba2 {

// A weight matrix W [rows, cols] applied as y = W x (+ bias) by kernels::matmul.
struct Projection {
  DType dtype = DType::kF32;          // as stored: any type kernels::matmul reads
  const std::byte* weight = nullptr;  // [rows, cols] of dtype, laid out as `layout` says
  const float* bias = nullptr;        // [rows] or null
  int64_t rows = 0;
  int64_t cols = 0;
  kernels::WeightLayout layout = kernels::WeightLayout::kRows;
};

// The token embedding as stored; embed() converts only the rows of the tokens it needs.
struct EmbeddingTable {
  DType dtype = DType::kF32;
  const std::byte* data = nullptr;  // [rows, cols] of dtype
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t row_bytes = 0;
  // kRows, or the layout a tied lm_head was rearranged to in place (rows are read back through
  // kernels::deinterleave_row).
  kernels::WeightLayout layout = kernels::WeightLayout::kRows;
};

struct PreparedLayer {
  const float* norm;        // [d_model]
  Projection in_proj;       // [d_in_proj, d_model]
  const float* conv;        // [d_conv, conv_dim], tap-major
  const float* conv_bias;   // [conv_dim] or null
  Projection x_proj;        // Mamba-1: [d_x_proj, d_inner]
  Projection dt_proj;       // Mamba-1: [d_inner, dt_rank], its bias in dt_bias
  const float* dt_bias;     // [nheads]
  const float* A;           // [nheads]; Mamba-1: [d_inner, d_state]
  const float* D;           // [nheads] or [nheads * headdim]
  const float* gated_norm;  // [d_ssm] or null
  Projection out_proj;      // [d_model, d_inner]
};

struct PreparedWeights {
  EmbeddingTable embedding;  // [vocab_padded, d_model]
  std::vector<PreparedLayer> layers;
  const float* norm_f;                    // [d_model]
  Projection lm_head;                     // [vocab_padded, d_model]; the embedding's data if tied
  std::vector<std::vector<float>> owned;  // converted tensors the pointers above may point into
  // Rearranged projections, on whole cache lines so their loads never straddle two; left
  // uninitialised until the rearranging writes them (in parallel, where their pages fault in).
  struct alignas(64) CacheLine {
    std::byte bytes[64];
  };
  std::vector<std::unique_ptr<CacheLine[]>> owned_lines;

  // Throws Error for a tensor whose bytes do not match its type and shape.
  static std::unique_ptr<PreparedWeights> prepare(const ModelWeights& weights,
                                                  const Model::PrepareProgress& progress,
                                                  const ThreadingContext& threading);
};

}  // namespace mamba2
