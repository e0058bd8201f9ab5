// Checkpoint tensor names (state-spaces, transformers and Mistral spellings) to the GGUF-form slots
// of ModelWeights, with the conversions on the way: A = -exp(A_log) in f32, and free reshapes
// (conv1d [C, 1, K] -> [C, K], D [H] -> [H, 1], gated norm [d_ssm] -> [G, d_ssm / G]).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "mamba2/model_weights.h"
#include "runtime/formats/checkpoint_tensors.h"

namespace mamba2 {

// The GGUF name of a checkpoint tensor ("backbone.layers.3.mixer.in_proj.weight" ->
// "blk.3.ssm_in.weight"), or nullopt for a name no Mamba-2 checkpoint uses.
std::optional<std::string> gguf_name_of_checkpoint_tensor(std::string_view checkpoint_name);

// Fills every tensor slot of `weights` (whose config must be resolved) from `tensors`, and moves
// their storage into weights.storage. Tensors that need no conversion stay views into the files.
// Throws Error naming `where` and the tensor for a tensor the config does not predict, a shape
// that differs from the prediction, a tensor given twice, or a predicted tensor that is missing.
// When the embeddings are tied and lm_head.weight is present too, lm_head's bytes win (torch's
// load_state_dict copies lm_head into the shared parameter last).
void assign_checkpoint_tensors(ModelWeights& weights, CheckpointTensors tensors,
                               const std::string& where);

}  // namespace mamba2
