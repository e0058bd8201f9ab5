// Rows of a block type as a loop over its blocks, for the reference (block_quants.cpp) and the
// SIMD dequantizers (dequantize_simd.h) alike. Internal to quant/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace mamba2::block_rows {
// Internal linkage: the per-ISA files instantiate these with their own instruction-set flags, and
// the linker must not pick one file's copy for another's callers.
namespace {

// Blocks are copied through a local struct: row bytes need not be aligned.
template <class Block>
void quantize_blocks(Block (*quantize)(const float*), int64_t block_elems, const float* src,
                     std::byte* dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b) {
    const Block block = quantize(src + b * block_elems);
    std::memcpy(dst + b * static_cast<int64_t>(sizeof(Block)), &block, sizeof block);
  }
}

template <class Block>
void dequantize_blocks(void (*dequantize)(const Block&, float*), int64_t block_elems,
                       const std::byte* src, float* dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b) {
    Block block;
    std::memcpy(&block, src + b * static_cast<int64_t>(sizeof(Block)), sizeof block);
    dequantize(block, dst + b * block_elems);
  }
}

}  // namespace
}  // namespace mamba2::block_rows
