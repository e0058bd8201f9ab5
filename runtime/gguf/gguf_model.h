// Reading a mamba2 GGUF file into ModelWeights; writing is public (mamba2/gguf.h).
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "mamba2/gguf.h"
#include "mamba2/model_weights.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/gguf_writer.h"

namespace mamba2 {

// Maps a GGUF file with general.architecture = "mamba2" and returns its weights; tensor views
// point into the mapping (kept alive by weights.storage), except small tensors stored in another
// type than f32, which are converted to f32. The vocabulary size is the embedding's row count
// (llama.cpp files hold the padded vocabulary), so vocab_size == vocab_padded after loading.
// Throws Error("<path>: ...") naming the key or tensor at fault.
ModelWeights load_gguf_model(const std::filesystem::path& path);
ModelWeights load_gguf_model(const GgufFile& file);
// load_gguf_model without the architecture check, for files that hold a mamba2 model beside
// tensors of their own: those `extra` accepts are left to the caller.
ModelWeights read_gguf_model(const GgufFile& file,
                             const std::function<bool(std::string_view name)>& extra);

// What write_gguf_model writes, with `architecture` as general.architecture, in a writer that
// takes more keys and tensors before write(path).
GgufWriter gguf_model_writer(const ModelWeights& weights, const std::filesystem::path& path,
                             const GgufWriteOptions& options, std::string_view architecture);

// Throws Error naming `where` unless the engine computes with the policy's types.
void check_writable_types(const QuantizationPolicy& policy, const std::string& where);
// Streams `view` converted to `target`, a slab of whole rows at a time, each slab's rows
// converted in tiles on `threading`'s threads (the same bytes on any number of them).
GgufTensorProducer converting_producer(const TensorView& view, DType target,
                                       const ThreadingContext& threading);

}  // namespace mamba2
