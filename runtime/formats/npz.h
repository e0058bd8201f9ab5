// NumPy .npz archives (np.savez): a zip of "<name>.npy" members, each a float32 array. What a
// mamba2-jax user writes with np.savez(path, **flatten_dict(params, sep=".")).
#pragma once

#include <filesystem>

#include "runtime/formats/checkpoint_tensors.h"

namespace mamba2 {

// Every member as a tensor named without ".npy", its bytes in owned buffers. Throws Error naming
// the file and the member for a member that is not a float32 C-order .npy.
CheckpointTensors read_npz(const std::filesystem::path& path);

}  // namespace mamba2
