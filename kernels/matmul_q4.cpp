#include "kernels/matmul_q4.h"

#include <cstring>
#include <string>

#include "mamba2/error.h"
#include "quant/k_quants.h"
#include "quant/legacy_quants.h"

namespace mamba2::kernels {
namespace {

// Inputs per unit along K, and bytes per stored block.
int64_t unit_inputs(DType type) { return type == DType::kQ4_0 ? 64 : 256; }
int64_t block_bytes(DType type) {
  return type == DType::kQ4_0 ? int64_t{sizeof(BlockQ4_0)} : int64_t{sizeof(BlockQ4_K)};
}
int64_t unit_bytes(DType type) { return type == DType::kQ4_0 ? kQ4_0UnitBytes : kQ4_KUnitBytes; }

// Stored block `block` (of row r of its unit's 16) into the unit. Q4_0: block j of the unit.
void place_q4_0(const BlockQ4_0& block, int64_t r, int64_t j, std::byte* unit) {
  for (int s = 0; s < 4; ++s) std::memcpy(unit + 256 * j + 64 * s + 4 * r, block.qs + 4 * s, 4);
  std::memcpy(unit + kQ4_0UnitScaleOffset + 32 * j + 2 * r, &block.d, sizeof block.d);
}

void place_q4_k(const BlockQ4_K& block, int64_t r, std::byte* unit) {
  for (int c = 0; c < 4; ++c) {
    for (int s = 0; s < 8; ++s) {
      std::memcpy(unit + 512 * c + 64 * s + 4 * r, block.qs + 32 * c + 4 * s, 4);
    }
  }
  std::memcpy(unit + kQ4_KUnitDOffset + 2 * r, &block.d, sizeof block.d);
  std::memcpy(unit + kQ4_KUnitDminOffset + 2 * r, &block.dmin, sizeof block.dmin);
  for (int w = 0; w < 3; ++w) {
    std::memcpy(unit + kQ4_KUnitScaleOffset + 64 * w + 4 * r, block.scales + 4 * w, 4);
  }
}

}  // namespace

bool q4_interleave_supported(DType type, int64_t n, int64_t k) {
  return (type == DType::kQ4_0 || type == DType::kQ4_K) && n > 0 && k > 0 &&
         k % unit_inputs(type) == 0 && quant_path() == QuantPath::kAvx512Vnni;
}

int64_t q4_interleaved_bytes(DType type, int64_t n, int64_t k) {
  const int64_t groups = (n + kQ4UnitRows - 1) / kQ4UnitRows;
  return groups * (k / unit_inputs(type)) * unit_bytes(type);
}

void interleave_q4(DType type, const std::byte* rows, int64_t n, int64_t k, int64_t n_begin,
                   int64_t n_end, std::byte* out) {
  if ((type != DType::kQ4_0 && type != DType::kQ4_K) || n <= 0 || k <= 0 ||
      k % unit_inputs(type) != 0 || n_begin < 0 || n_begin % kQ4UnitRows != 0 ||
      (n_end % kQ4UnitRows != 0 && n_end != n) || n_end > n) {
    throw Error("interleave_q4", "rows [" + std::to_string(n_begin) + ", " + std::to_string(n_end) +
                                     ") of a [" + std::to_string(n) + ", " + std::to_string(k) +
                                     "] " + std::string(dtype_name(type)) +
                                     " weight do not fit 16-row units");
  }
  const int64_t bytes = block_bytes(type);
  const int64_t blocks = k / (type == DType::kQ4_0 ? 32 : 256);  // stored blocks per row
  const int64_t row_bytes = blocks * bytes;
  const int64_t blocks_per_unit = type == DType::kQ4_0 ? kQ4_0UnitBlocks : 1;
  const int64_t units_per_group = blocks / blocks_per_unit;
  for (int64_t row0 = n_begin; row0 < n_end; row0 += kQ4UnitRows) {
    for (int64_t b = 0; b < blocks; ++b) {
      std::byte* unit =
          out + (row0 / kQ4UnitRows * units_per_group + b / blocks_per_unit) * unit_bytes(type);
      for (int64_t r = 0; r < kQ4UnitRows; ++r) {
        const std::byte* stored =
            row0 + r < n ? rows + (row0 + r) * row_bytes + b * bytes : nullptr;
        if (type == DType::kQ4_0) {
          BlockQ4_0 block{};  // rows past N: zero scale and quants
          if (stored) std::memcpy(&block, stored, sizeof block);
          place_q4_0(block, r, b % kQ4_0UnitBlocks, unit);
        } else {
          BlockQ4_K block{};
          if (stored) std::memcpy(&block, stored, sizeof block);
          place_q4_k(block, r, unit);
        }
      }
    }
  }
}

}  // namespace mamba2::kernels
