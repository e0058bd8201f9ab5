// The weights as the engine reads them: f32 pointers into the model's tensors, plus the few
// tensors prepared once in another layout (the conv filter transposed to tap-major).
#pragma once

#include <cstdint>
#include <vector>

#include "mamba2/model_weights.h"

namespace mamba2 {

// A weight matrix W [rows, cols] applied as y = W x (+ bias).
struct Projection {
  const float* weight = nullptr;  // [rows, cols]
  const float* bias = nullptr;    // [rows] or null
  int64_t rows = 0;
  int64_t cols = 0;
};

struct PreparedLayer {
  const float* norm;        // [d_model]
  Projection in_proj;       // [d_in_proj, d_model]
  const float* conv;        // [d_conv, conv_dim], tap-major
  const float* conv_bias;   // [conv_dim] or null
  const float* dt_bias;     // [nheads]
  const float* A;           // [nheads]
  const float* D;           // [nheads] or [nheads * headdim]
  const float* gated_norm;  // [d_ssm] or null
  Projection out_proj;      // [d_model, d_inner]
};

struct PreparedWeights {
  const float* embedding;  // [vocab_padded, d_model]
  std::vector<PreparedLayer> layers;
  const float* norm_f;                    // [d_model]
  Projection lm_head;                     // [vocab_padded, d_model]
  std::vector<std::vector<float>> owned;  // converted tensors the pointers above may point into

  // Throws Error for a tensor type the f32 engine cannot use yet.
  static std::unique_ptr<PreparedWeights> prepare(const ModelWeights& weights);
};

}  // namespace mamba2
