// safetensors files (a u64 header length, a JSON header, then the data section), alone or as the
// shards of a `model.safetensors.index.json`. Tensors are views into the mapped files.
#pragma once

#include <filesystem>

#include "runtime/formats/checkpoint_tensors.h"

namespace mamba2 {

// Maps `path` and checks every header entry against the file: dtype F32/F16/BF16, data offsets
// inside the data section and of the size dtype x shape says, no two tensors overlapping.
// Throws Error naming the file (and the tensor) otherwise.
CheckpointTensors read_safetensors(const std::filesystem::path& path);

// Reads a sharded checkpoint: the index's weight_map names, for every tensor, the shard file
// (beside the index) that holds it. Each shard is opened once; every tensor listed must be in its
// shard and no tensor may appear in two shards.
CheckpointTensors read_safetensors_index(const std::filesystem::path& index_path);

}  // namespace mamba2
