// Our GGUF form of a forecaster: general.architecture "mamba2-forecaster", the backbone as a
// mamba2 GGUF holds it (mamba2.* keys, token_embd one zero row, blk.*, output_norm), and
//   mamba2-forecaster.input_dim / .output_dim / .horizon        u32
//   mamba2-forecaster.input_columns / .output_columns           string arrays (optional)
//   mamba2-forecaster.context                                   u32 (optional: trained here)
//   mamba2-forecaster.window_shift                              u32 1: relative (optional)
//   forecast.input_proj.weight  [d_model, input_dim]   forecast.input_proj.bias  [d_model]
//   forecast.output_proj.weight [horizon * output_dim, d_model]
//   forecast.output_proj.bias   [horizon * output_dim]
//   forecast.input_mean / .input_scale [input_dim], .output_mean / .output_scale [output_dim]
//                                                              (optional, together)
// Shapes outermost first; every forecast.* tensor is f32.
#pragma once

#include <filesystem>

#include "mamba2/forecaster.h"
#include "runtime/gguf/gguf_file.h"

namespace mamba2 {

inline constexpr const char* kForecasterArchitecture = "mamba2-forecaster";

ForecasterWeights read_forecaster_gguf(const GgufFile& file);

}  // namespace mamba2
