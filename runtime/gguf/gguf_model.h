// A Mamba-2 model as a GGUF file in llama.cpp's `mamba2` layout: the keys and tensor names that
// convert_hf_to_gguf.py writes and llama.cpp loads, so files go both ways between the projects.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string_view>

#include "mamba2/dtype.h"
#include "mamba2/model_weights.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/gguf_writer.h"

namespace mamba2 {

struct GgufWriteOptions {
  // Type of the large 2-D weights (token_embd, output, ssm_in, ssm_out); norms, conv, A, D and
  // biases always stay f32, as in llama.cpp's converter. f32, f16, bf16 or q8_0; a q8_0 tensor
  // whose rows are not whole 32-weight blocks falls back to f16.
  DType type = DType::kF32;
  GgufProgressCallback progress;  // called after each tensor is written
  // mamba2-quantize's --embedding-type: the type of token_embd and output instead of `type`
  // (with the same fallback for rows that are not whole blocks).
  std::optional<DType> embedding_type;
  // mamba2-quantize's --keep-f32: tensors whose GGUF name it accepts stay f32.
  std::function<bool(std::string_view name)> keep_f32;
};

// Maps a GGUF file with general.architecture = "mamba2" and returns its weights; tensor views
// point into the mapping (kept alive by weights.storage), except small tensors stored in another
// type than f32, which are converted to f32. The vocabulary size is the embedding's row count
// (llama.cpp files hold the padded vocabulary), so vocab_size == vocab_padded after loading.
// Throws Error("<path>: ...") naming the key or tensor at fault.
ModelWeights load_gguf_model(const std::filesystem::path& path);
ModelWeights load_gguf_model(const GgufFile& file);

// Writes `weights` as a llama.cpp-loadable mamba2 GGUF file, converting one tensor at a time, to a
// temporary file renamed over `path` at the end.
void write_gguf_model(const ModelWeights& weights, const std::filesystem::path& path,
                      const GgufWriteOptions& options = {});

// The type a tensor of this role and shape gets when `requested` is asked for.
DType gguf_tensor_type(TensorRole role, const TensorShape& shape, DType requested);
// llama.cpp's general.file_type (enum llama_ftype) for a file whose large weights are `type`.
uint32_t llama_file_type(DType type);

}  // namespace mamba2
