// Reading a mamba2 GGUF file into ModelWeights; writing is public (mamba2/gguf.h).
#pragma once

#include <filesystem>

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

}  // namespace mamba2
