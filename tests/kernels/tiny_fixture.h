// The tiny reference fixture's weights and layer-0/1 traces, for kernel tests that reproduce
// the official model's intermediate activations.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "mamba2/npy.h"
#include "runtime/formats/safetensors.h"
#include "tests/support/test_paths.h"

namespace mamba2::kernels::testing {

// The tiny fixture (d_model 64, d_inner 128, conv_dim 160, 8 heads, d_in_proj 296, 40 traced
// tokens): zxbcdt = z[128] | xBC[160] | dt[8].
constexpr int64_t kTraceTokens = 40, kDModel = 64, kDInner = 128, kConvDim = 160, kHeads = 8,
                  kDInProj = 296;

// One F32 tensor of a fixture checkpoint, by name.
inline std::vector<float> checkpoint_f32(const CheckpointTensors& checkpoint,
                                         const std::string& name) {
  for (const CheckpointTensor& tensor : checkpoint.tensors) {
    if (tensor.name != name) continue;
    EXPECT_EQ(tensor.dtype, DType::kF32) << name;
    std::vector<float> values(tensor.bytes.size() / sizeof(float));
    std::memcpy(values.data(), tensor.bytes.data(), values.size() * sizeof(float));
    return values;
  }
  ADD_FAILURE() << name << " is not in the checkpoint";
  return {};
}

inline std::string layer_tensor(int64_t layer, const char* name) {
  return "backbone.layers." + std::to_string(layer) + ".mixer." + name;
}

inline NpyArray trace_array(int64_t layer, const char* name) {
  return read_npy(mamba2::testing::fixture_dir("tiny") / "trace" /
                  ("layer" + std::to_string(layer) + "_" + name + ".npy"));
}

}  // namespace mamba2::kernels::testing
