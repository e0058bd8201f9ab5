// Mamba-2 models as GGUF files in llama.cpp's `mamba2` layout: the keys and tensor names that
// convert_hf_to_gguf.py writes and llama.cpp loads, so files go both ways between the projects.
// Reading is load_model_weights (model_loader.h), which takes GGUF files and checkpoints alike.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "mamba2/dtype.h"
#include "mamba2/model_weights.h"
#include "mamba2/quantization.h"
#include "mamba2/tensor.h"

namespace mamba2 {

struct GgufWriteProgress {
  size_t index = 0;  // 0-based position of the tensor just written
  size_t count = 0;  // tensors in the file
  std::string_view name;
  DType dtype = DType::kF32;
  TensorShape shape;
  uint64_t nbytes = 0;
};
using GgufProgressCallback = std::function<void(const GgufWriteProgress&)>;

struct GgufWriteOptions {
  QuantizationPolicy quantization;  // the type of every tensor
  GgufProgressCallback progress;    // called after each tensor is written
};

// Writes `weights` as a llama.cpp-loadable mamba2 GGUF file, converting one tensor at a time, to a
// temporary file renamed over `path` at the end.
void write_gguf_model(const ModelWeights& weights, const std::filesystem::path& path,
                      const GgufWriteOptions& options = {});

struct GgufTensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  TensorShape shape;    // outermost first: GGUF's ne reversed
  uint64_t offset = 0;  // from the start of the file
  uint64_t nbytes = 0;
};

// The tensors of any GGUF file, as its header lists them (for summaries). Throws Error naming the
// path for a malformed file.
std::vector<GgufTensorInfo> read_gguf_tensor_infos(const std::filesystem::path& path);

}  // namespace mamba2
