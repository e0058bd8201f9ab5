// The model config of a checkpoint directory, in any of the dialects checkpoints are published in:
//   - state-spaces `config.json` (MambaConfig: d_model, n_layer, ssm_cfg{layer: "Mamba2", ...}),
//   - Hugging Face transformers `config.json` (Mamba2Config: hidden_size, num_heads, ...),
//   - Mistral `params.json` (Mamba-Codestral: dim, n_layers, n_groups, ...).
#pragma once

#include <string>
#include <string_view>

#include "mamba2/config.h"

namespace mamba2 {

// Parses `text` (the file's contents), fills the declared fields with each dialect's defaults for
// the missing ones, and resolves the config. Throws Error("<where>: ...") for text that is not
// JSON, a field of the wrong type or range, or an architecture this runtime does not run
// (attention layers, MLPs, LayerNorm, another ssm layer).
ModelConfig parse_config_json(std::string_view text, const std::string& where);

}  // namespace mamba2
