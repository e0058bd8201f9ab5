// A checkpoint directory as Hugging Face hosts it: config.json (or Mistral's params.json) beside
// model.safetensors, a sharded model.safetensors.index.json, consolidated.safetensors or
// pytorch_model.bin, and an optional tokenizer (tokenizer.json, or SentencePiece's
// tokenizer.model / tokenizer.model.v3).
#pragma once

#include <filesystem>
#include <string>

#include "mamba2/model_weights.h"

namespace mamba2 {

// Loads `dir`: the config, then the weights (safetensors preferred over pytorch_model.bin), named
// after the directory, checked with check_model_weights, with the tokenizer of
// load_tokenizer_directory (without one, the model works on token ids only). Throws Error naming
// the file at fault.
ModelWeights load_checkpoint_directory(const std::filesystem::path& dir);

// Loads one config file and one weights file: `*.safetensors`, `*.safetensors.index.json` or a
// torch.save zip (`*.bin`, `*.pt`, `*.pth`).
ModelWeights load_checkpoint_files(const std::filesystem::path& config_file,
                                   const std::filesystem::path& weights_file, std::string name);

}  // namespace mamba2
