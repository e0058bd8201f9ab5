// Training checkpoints: the parameters, the Adam moments, the step and the data seed in a small
// versioned binary file with a checksum, written atomically. Layout (little-endian):
//   "MAMBA2TR" | u32 version = 1 | u32 0 | u64 layout fingerprint | i64 step | u64 seed |
//   i64 count | f32 params[count] | f32 m[count] | f32 v[count] | u64 FNV-1a of all before.
// The data windows depend only on (seed, step), so these fields are the whole generator state.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "runtime/training/parameters.h"

namespace mamba2::training {

struct CheckpointState {
  int64_t step = 0;
  uint64_t seed = 0;
  std::vector<float> params, m, v;  // layout.total() each
};

// A hash of the slot names and shapes: a checkpoint only loads into the layout it came from.
uint64_t layout_fingerprint(const ParameterLayout& layout);

void write_checkpoint(const std::filesystem::path& path, const ParameterLayout& layout,
                      const CheckpointState& state);

// Throws Error naming the path for a file of the wrong size, magic, version, layout or checksum.
CheckpointState read_checkpoint(const std::filesystem::path& path, const ParameterLayout& layout);

}  // namespace mamba2::training
