#include "kernels/matmul_q8_0.h"

#include <cstring>

#include "quant/q8_0.h"

namespace mamba2::kernels {
namespace {

constexpr int64_t kBlockBytes = sizeof(BlockQ8_0);

}  // namespace

bool q8_0_interleave_supported(int64_t n, int64_t k) {
  return n > 0 && k > 0 && k % kQ8_0UnitInputs == 0 && quant_path() == QuantPath::kAvx512Vnni;
}

int64_t q8_0_interleaved_bytes(int64_t n, int64_t k) {
  const int64_t groups = (n + kQ8_0UnitRows - 1) / kQ8_0UnitRows;
  return groups * (k / kQ8_0UnitInputs) * kQ8_0UnitBytes;
}

void interleave_q8_0(const std::byte* rows, int64_t n, int64_t k, int64_t n_begin, int64_t n_end,
                     std::byte* out) {
  const int64_t blocks = k / kQ8_0BlockElems;
  const int64_t row_bytes = blocks * kBlockBytes;
  const int64_t units_per_group = blocks / kQ8_0UnitBlocks;
  for (int64_t row0 = n_begin; row0 < n_end; row0 += kQ8_0UnitRows) {
    for (int64_t b = 0; b < blocks; ++b) {
      std::byte* unit =
          out + (row0 / kQ8_0UnitRows * units_per_group + b / kQ8_0UnitBlocks) * kQ8_0UnitBytes;
      const int64_t j = b % kQ8_0UnitBlocks;
      for (int64_t r = 0; r < kQ8_0UnitRows; ++r) {
        BlockQ8_0 block{};  // rows past N: zero scale and quants
        if (row0 + r < n) {
          std::memcpy(&block, rows + (row0 + r) * row_bytes + b * kBlockBytes, sizeof block);
        }
        // Each 4 consecutive quants stay together, made unsigned (+128) for vpdpbusd.
        for (int i = 0; i < kQ8_0BlockElems; i += 4) {
          uint32_t quad;
          std::memcpy(&quad, block.qs + i, sizeof quad);
          quad ^= 0x80808080u;
          std::memcpy(unit + kQ8_0UnitQuantBytes * j + 64 * (i / 4) + 4 * r, &quad, sizeof quad);
        }
        std::memcpy(unit + kQ8_0UnitScaleOffset + kQ8_0UnitScaleBytes * j + 2 * r, &block.d,
                    sizeof block.d);
      }
    }
  }
}

void deinterleave_q8_0_row(const std::byte* interleaved, int64_t k, int64_t row, std::byte* out) {
  const int64_t blocks = k / kQ8_0BlockElems;
  const int64_t units_per_group = blocks / kQ8_0UnitBlocks;
  const int64_t r = row % kQ8_0UnitRows;
  for (int64_t b = 0; b < blocks; ++b) {
    const std::byte* unit =
        interleaved +
        (row / kQ8_0UnitRows * units_per_group + b / kQ8_0UnitBlocks) * kQ8_0UnitBytes;
    const int64_t j = b % kQ8_0UnitBlocks;
    BlockQ8_0 block;
    for (int i = 0; i < kQ8_0BlockElems; i += 4) {
      uint32_t quad;
      std::memcpy(&quad, unit + kQ8_0UnitQuantBytes * j + 64 * (i / 4) + 4 * r, sizeof quad);
      quad ^= 0x80808080u;  // back to signed
      std::memcpy(block.qs + i, &quad, sizeof quad);
    }
    std::memcpy(&block.d, unit + kQ8_0UnitScaleOffset + kQ8_0UnitScaleBytes * j + 2 * r,
                sizeof block.d);
    std::memcpy(out + b * kBlockBytes, &block, sizeof block);
  }
}

}  // namespace mamba2::kernels
