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
  switch (type) {
    case DType::kQ4_0:
      return sizeof(BlockQ4_0);
    case DType::kQ4_K:
      return sizeof(BlockQ4_K);
    default:
      return sizeof(BlockQ6_K);
  }
}
int64_t unit_bytes(DType type) {
  switch (type) {
    case DType::kQ4_0:
      return kQ4_0UnitBytes;
    case DType::kQ4_K:
      return kQ4_KUnitBytes;
    default:
      return kQ6_KUnitBytes;
  }
}
bool has_layout(DType type) { return q4_layout(type) != WeightLayout::kRows; }

// Between stored block `block` (of row r of its unit's 16) and its unit, either way: into the
// unit (kToUnit) or back. Q4_0: block j of the unit.
template <bool kToUnit>
void move(std::byte* unit_bytes, std::byte* block_bytes, int64_t bytes) {
  if constexpr (kToUnit) {
    std::memcpy(unit_bytes, block_bytes, bytes);
  } else {
    std::memcpy(block_bytes, unit_bytes, bytes);
  }
}

template <bool kToUnit>
void move_q4_0(BlockQ4_0& block, int64_t r, int64_t j, std::byte* unit) {
  auto* qs = reinterpret_cast<std::byte*>(block.qs);
  for (int s = 0; s < 4; ++s) move<kToUnit>(unit + 256 * j + 64 * s + 4 * r, qs + 4 * s, 4);
  move<kToUnit>(unit + kQ4_0UnitScaleOffset + 32 * j + 2 * r,
                reinterpret_cast<std::byte*>(&block.d), sizeof block.d);
}

template <bool kToUnit>
void move_q4_k(BlockQ4_K& block, int64_t r, std::byte* unit) {
  auto* qs = reinterpret_cast<std::byte*>(block.qs);
  for (int c = 0; c < 4; ++c) {
    for (int s = 0; s < 8; ++s) {
      move<kToUnit>(unit + 512 * c + 64 * s + 4 * r, qs + 32 * c + 4 * s, 4);
    }
  }
  move<kToUnit>(unit + kQ4_KUnitDOffset + 2 * r, reinterpret_cast<std::byte*>(&block.d),
                sizeof block.d);
  move<kToUnit>(unit + kQ4_KUnitDminOffset + 2 * r, reinterpret_cast<std::byte*>(&block.dmin),
                sizeof block.dmin);
  auto* scales = reinterpret_cast<std::byte*>(block.scales);
  for (int w = 0; w < 3; ++w) {
    move<kToUnit>(unit + kQ4_KUnitScaleOffset + 64 * w + 4 * r, scales + 4 * w, 4);
  }
}

template <bool kToUnit>
void move_q6_k(BlockQ6_K& block, int64_t r, std::byte* unit) {
  auto* ql = reinterpret_cast<std::byte*>(block.ql);
  for (int i = 0; i < 32; ++i) move<kToUnit>(unit + 64 * i + 4 * r, ql + 4 * i, 4);
  auto* qh = reinterpret_cast<std::byte*>(block.qh);
  for (int i = 0; i < 16; ++i)
    move<kToUnit>(unit + kQ6_KUnitHighOffset + 64 * i + 4 * r, qh + 4 * i, 4);
  auto* scales = reinterpret_cast<std::byte*>(block.scales);
  for (int w = 0; w < 4; ++w) {
    move<kToUnit>(unit + kQ6_KUnitScaleOffset + 64 * w + 4 * r, scales + 4 * w, 4);
  }
  move<kToUnit>(unit + kQ6_KUnitDOffset + 2 * r, reinterpret_cast<std::byte*>(&block.d),
                sizeof block.d);
}

// Stored block b of row r of its 16 (zeros past N) into its unit, or back from it.
template <bool kToUnit>
void move_block(DType type, std::byte* stored, int64_t r, int64_t b, std::byte* unit) {
  const auto through = [&](auto block, auto&& move_fn) {
    if (kToUnit && stored) std::memcpy(&block, stored, sizeof block);
    move_fn(block);
    if (!kToUnit) std::memcpy(stored, &block, sizeof block);
  };
  switch (type) {
    case DType::kQ4_0:
      return through(BlockQ4_0{}, [&](BlockQ4_0& block) {
        move_q4_0<kToUnit>(block, r, b % kQ4_0UnitBlocks, unit);
      });
    case DType::kQ4_K:
      return through(BlockQ4_K{}, [&](BlockQ4_K& block) { move_q4_k<kToUnit>(block, r, unit); });
    default:
      return through(BlockQ6_K{}, [&](BlockQ6_K& block) { move_q6_k<kToUnit>(block, r, unit); });
  }
}

}  // namespace

bool q4_interleave_supported(DType type, int64_t n, int64_t k) {
  return has_layout(type) && n > 0 && k > 0 && k % unit_inputs(type) == 0 &&
         quant_path() == QuantPath::kAvx512Vnni;
}

int64_t q4_interleaved_bytes(DType type, int64_t n, int64_t k) {
  const int64_t groups = (n + kQ4UnitRows - 1) / kQ4UnitRows;
  return groups * (k / unit_inputs(type)) * unit_bytes(type);
}

void interleave_q4(DType type, const std::byte* rows, int64_t n, int64_t k, int64_t n_begin,
                   int64_t n_end, std::byte* out) {
  if (!has_layout(type) || n <= 0 || k <= 0 || k % unit_inputs(type) != 0 || n_begin < 0 ||
      n_begin % kQ4UnitRows != 0 || (n_end % kQ4UnitRows != 0 && n_end != n) || n_end > n) {
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
        // The move in only reads the stored block.
        auto* stored = row0 + r < n
                           ? const_cast<std::byte*>(rows) + (row0 + r) * row_bytes + b * bytes
                           : nullptr;
        move_block<true>(type, stored, r, b, unit);
      }
    }
  }
}

void deinterleave_q4_row(DType type, const std::byte* interleaved, int64_t n, int64_t k,
                         int64_t row, std::byte* out) {
  (void)n;
  const int64_t bytes = block_bytes(type);
  const int64_t blocks = k / (type == DType::kQ4_0 ? 32 : 256);
  const int64_t blocks_per_unit = type == DType::kQ4_0 ? kQ4_0UnitBlocks : 1;
  const int64_t units_per_group = blocks / blocks_per_unit;
  const int64_t r = row % kQ4UnitRows;
  for (int64_t b = 0; b < blocks; ++b) {
    // The move back only reads through the unit pointer.
    auto* unit = const_cast<std::byte*>(interleaved) +
                 (row / kQ4UnitRows * units_per_group + b / blocks_per_unit) * unit_bytes(type);
    move_block<false>(type, out + b * bytes, r, b, unit);
  }
}

}  // namespace mamba2::kernels
