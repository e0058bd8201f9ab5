// The zip archive torch.save writes (pytorch_model.bin): "<prefix>/data.pkl", a pickled state
// dict, and "<prefix>/data/<key>", the raw bytes of each storage. Stored (uncompressed) entries
// are used in place from the mapped file; compressed ones are read into owned buffers.
#pragma once

#include <filesystem>

#include "runtime/formats/checkpoint_tensors.h"

namespace mamba2 {

// Reads every tensor of the state dict in `path`. Tensors sharing a storage (tied embeddings)
// point to the same bytes. Throws Error naming the file for a zip that is not a torch.save
// archive, a pickle the parser refuses, or a storage entry smaller than its tensors.
CheckpointTensors read_torch_zip(const std::filesystem::path& path);

}  // namespace mamba2
