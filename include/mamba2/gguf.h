// Mamba-2 models as GGUF files in llama.cpp's `mamba2` layout: the keys and tensor names that
// convert_hf_to_gguf.py writes and llama.cpp loads, so files go both ways between the projects.
// Reading is load_model_weights (model_loader.h), which takes GGUF files and checkpoints alike.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mamba2/dtype.h"
#include "mamba2/model_weights.h"
#include "mamba2/quantization.h"
#include "mamba2/tensor.h"
#include "mamba2/threading_context.h"

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
  // Threads converting (quantizing) the rows of a tensor: tiles of whole rows, each quantized
  // alone, so any thread count writes the same bytes. None: the calling thread alone. (Optional
  // rather than a one-thread default: GCC 12 then sees every `{}` of these options as initialized.)
  std::optional<ThreadingContext> threading;
};

// Writes `weights` as a llama.cpp-loadable mamba2 GGUF file, converting one tensor at a time, to a
// temporary file renamed over `path` at the end.
void write_gguf_model(const ModelWeights& weights, const std::filesystem::path& path,
                      const GgufWriteOptions& options = {});

// Rewrites the GGUF file `input` (a mamba2 or mamba model in llama.cpp's layout, any weight types
// we read) as llama-quantize rewrites one: every key/value copied in order, with
// general.quantization_version and general.file_type moved to the end; the tensors in the order
// llama.cpp's loader lists them (outside the blocks, then block by block, each group by name),
// trailing dimensions of size 1 dropped as ggml does, each converted to the type
// `options.quantization` gives it (llama.cpp's tied-output rule applies when the file has no
// output.weight). From the f32 file llama-quantize reads, the output is the same file, byte for
// byte, as `llama-quantize input output TYPE` without an importance matrix. Written to a temporary
// file renamed over `output` at the end; throws Error naming the file at fault.
void requantize_gguf(const std::filesystem::path& input, const std::filesystem::path& output,
                     const GgufWriteOptions& options);

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
