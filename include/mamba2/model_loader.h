// Loads a model from what a user has on disk: a GGUF file (ours or llama.cpp's), or a model
// directory with config.json (state-spaces or transformers) and model.safetensors, a sharded
// safetensors index or pytorch_model.bin, plus an optional tokenizer.json.
#pragma once

#include <filesystem>
#include <memory>

#include "mamba2/model.h"
#include "mamba2/model_weights.h"

namespace mamba2 {

// Throws Error naming the path and the problem for anything else.
ModelWeights load_model_weights(const std::filesystem::path& path);
std::shared_ptr<const Model> load_model(const std::filesystem::path& path,
                                        const Model::PrepareProgress& progress = {},
                                        const ThreadingContext& threading = ThreadingContext());

}  // namespace mamba2
