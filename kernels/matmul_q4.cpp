#include "kernels/matmul_q4.h"

#include <cstring>
#include <string>
#include <type_traits>

#include "mamba2/error.h"
#include "quant/k_quants.h"
#include "quant/legacy_quants.h"

namespace mamba2::kernels {
namespace {

// A type's sizes in its layout: stored blocks per unit, inputs per unit along K, bytes per
// stored block and per unit.
struct UnitShape {
  int64_t blocks, inputs, block_bytes, unit_bytes;
};

UnitShape unit_shape(DType type) {
  switch (type) {
    case DType::kQ4_0:
      return {kQ4_0UnitBlocks, kQ4_0UnitBlocks * 32, sizeof(BlockQ4_0), kQ4_0UnitBytes};
    case DType::kQ4_K:
      return {1, 256, sizeof(BlockQ4_K), kQ4_KUnitBytes};
    case DType::kQ6_K:
      return {1, 256, sizeof(BlockQ6_K), kQ6_KUnitBytes};
    default:
      break;
  }
  throw Error("matmul_q4", std::string(dtype_name(type)) + " weights have no 16-row layout");
}

bool has_layout(DType type) { return q4_layout(type) != WeightLayout::kRows; }

// The bytes a move between a unit and a stored block writes, and those it reads: into the unit
// (kToUnit) or back.
template <bool kToUnit>
using UnitBytes = std::conditional_t<kToUnit, std::byte*, const std::byte*>;
template <bool kToUnit>
using StoredBytes = std::conditional_t<kToUnit, const std::byte*, std::byte*>;

// Between stored block `block` (of row r of its unit's 16) and its unit, either way. Q4_0: block j
// of the unit.
template <bool kToUnit>
void move(UnitBytes<kToUnit> unit_bytes, std::byte* block_bytes, int64_t bytes) {
  if constexpr (kToUnit) {
    std::memcpy(unit_bytes, block_bytes, bytes);
  } else {
    std::memcpy(block_bytes, unit_bytes, bytes);
  }
}

template <bool kToUnit>
void move_q4_0(BlockQ4_0& block, int64_t r, int64_t j, UnitBytes<kToUnit> unit) {
  auto* qs = reinterpret_cast<std::byte*>(block.qs);
  for (int s = 0; s < 4; ++s) move<kToUnit>(unit + 256 * j + 64 * s + 4 * r, qs + 4 * s, 4);
  move<kToUnit>(unit + kQ4_0UnitScaleOffset + 32 * j + 2 * r,
                reinterpret_cast<std::byte*>(&block.d), sizeof block.d);
}

template <bool kToUnit>
void move_q4_k(BlockQ4_K& block, int64_t r, UnitBytes<kToUnit> unit) {
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
void move_q6_k(BlockQ6_K& block, int64_t r, UnitBytes<kToUnit> unit) {
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

// Stored block b of row r of its 16 into its unit (zeros for a null block: rows past N), or back
// from it.
template <bool kToUnit>
void move_block(DType type, StoredBytes<kToUnit> stored, int64_t r, int64_t b,
                UnitBytes<kToUnit> unit) {
  const auto through = [&](auto block, auto&& move_fn) {
    if constexpr (kToUnit) {
      if (stored) std::memcpy(&block, stored, sizeof block);
    }
    move_fn(block);
    if constexpr (!kToUnit) std::memcpy(stored, &block, sizeof block);
  };
  switch (type) {
    case DType::kQ4_0:
      return through(BlockQ4_0{}, [&](BlockQ4_0& block) {
        move_q4_0<kToUnit>(block, r, b % kQ4_0UnitBlocks, unit);
      });
    case DType::kQ4_K:
      return through(BlockQ4_K{}, [&](BlockQ4_K& block) { move_q4_k<kToUnit>(block, r, unit); });
    case DType::kQ6_K:
      return through(BlockQ6_K{}, [&](BlockQ6_K& block) { move_q6_k<kToUnit>(block, r, unit); });
    default:
      throw Error("matmul_q4", std::string(dtype_name(type)) + " weights have no 16-row layout");
  }
}

// Each stored block of rows [n_begin, n_end) of W [n, k] of `type` with its unit: visit(row,
// block, the block's offset in its row, its unit's offset in the layout), offsets in bytes.
template <class Visit>
void for_each_block_and_unit(DType type, int64_t k, int64_t n_begin, int64_t n_end, Visit visit) {
  const UnitShape shape = unit_shape(type);
  const int64_t blocks = k / shape.inputs * shape.blocks;  // stored blocks per row
  const int64_t units_per_group = blocks / shape.blocks;
  for (int64_t row = n_begin; row < n_end; ++row) {
    for (int64_t b = 0; b < blocks; ++b) {
      visit(row, b, b * shape.block_bytes,
            (row / kQ4UnitRows * units_per_group + b / shape.blocks) * shape.unit_bytes);
    }
  }
}

}  // namespace

int64_t q4_unit_inputs(DType type) { return unit_shape(type).inputs; }

bool q4_interleave_supported(DType type, int64_t n, int64_t k) {
  return has_layout(type) && n > 0 && k > 0 && k % q4_unit_inputs(type) == 0 &&
         quant_path() == QuantPath::kAvx512Vnni;
}

int64_t q4_interleaved_bytes(DType type, int64_t n, int64_t k) {
  const UnitShape shape = unit_shape(type);
  const int64_t groups = (n + kQ4UnitRows - 1) / kQ4UnitRows;
  return groups * (k / shape.inputs) * shape.unit_bytes;
}

void interleave_q4(DType type, const std::byte* rows, int64_t n, int64_t k, int64_t n_begin,
                   int64_t n_end, std::byte* out) {
  const auto row_bytes = static_cast<int64_t>(*dtype_bytes(type, k));
  // Whole groups: the rows past N up to the last group's end get zero blocks.
  const int64_t end = (n_end + kQ4UnitRows - 1) / kQ4UnitRows * kQ4UnitRows;
  for_each_block_and_unit(
      type, k, n_begin, end, [&](int64_t row, int64_t b, int64_t block, int64_t unit) {
        const std::byte* stored = row < n ? rows + row * row_bytes + block : nullptr;
        move_block<true>(type, stored, row % kQ4UnitRows, b, out + unit);
      });
}

void deinterleave_q4_row(DType type, const std::byte* interleaved, int64_t k, int64_t row,
                         std::byte* out) {
  for_each_block_and_unit(
      type, k, row, row + 1, [&](int64_t, int64_t b, int64_t block, int64_t unit) {
        move_block<false>(type, out + block, row % kQ4UnitRows, b, interleaved + unit);
      });
}

}  // namespace mamba2::kernels
