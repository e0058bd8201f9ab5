// The tensors of a checkpoint file as the file names and shapes them, before they become
// ModelWeights: what the safetensors and torch readers return.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "mamba2/dtype.h"

namespace mamba2 {

struct CheckpointTensor {
  std::string name;                  // "backbone.layers.0.mixer.A_log"
  DType dtype;                       // F32, F16 or BF16
  std::vector<int64_t> shape;        // outermost first, as PyTorch prints it
  std::span<const std::byte> bytes;  // row-major, little-endian; inside one of `storage`
};

struct CheckpointTensors {
  std::vector<CheckpointTensor> tensors;
  // Keeps the bytes alive: mapped files and buffers read out of compressed archives.
  std::vector<std::shared_ptr<const void>> storage;
};

}  // namespace mamba2
