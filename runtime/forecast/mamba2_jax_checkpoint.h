// A mamba2-jax Mamba2Forecaster as its users save one: config.json of the constructor's fields
// beside params.safetensors or params.npz, the flattened Flax parameter tree.
#pragma once

#include <filesystem>

#include "mamba2/forecaster.h"

namespace mamba2 {

// Throws Error naming the file and the field or tensor at fault.
ForecasterWeights load_mamba2_jax_forecaster(const std::filesystem::path& dir);

}  // namespace mamba2
