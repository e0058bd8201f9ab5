#include "kernels/quant_groups.h"

#include <cstring>

#include "quant/float16.h"
#include "quant/k_quants.h"
#include "quant/legacy_quants.h"
#include "quant/q8_0.h"

namespace mamba2::kernels {
namespace {

template <class Block>
Block read_block(const std::byte* bytes) {
  Block block;
  std::memcpy(&block, bytes, sizeof block);
  return block;
}

void fill_scale(QuantGroup& group, float scale) {
  for (float& s : group.scale) s = scale;
}

QuantGroup q8_0_group(const std::byte* bytes) {
  const auto block = read_block<BlockQ8_0>(bytes);
  QuantGroup group;
  std::memcpy(group.q, block.qs, sizeof group.q);
  fill_scale(group, f16_to_f32(block.d));
  return group;
}

// Weight j in the low nibble of qs[j], weight j + 16 in its high nibble; q - 8.
QuantGroup q4_0_group(const std::byte* bytes) {
  const auto block = read_block<BlockQ4_0>(bytes);
  QuantGroup group;
  for (int j = 0; j < 16; ++j) {
    group.q[j] = static_cast<int8_t>((block.qs[j] & 0x0F) - 8);
    group.q[j + 16] = static_cast<int8_t>((block.qs[j] >> 4) - 8);
  }
  fill_scale(group, f16_to_f32(block.d));
  return group;
}

// Q4_K and Q5_K: group g's low 4 bits are the low (g even) or high nibbles of qs[32 (g / 2), +32);
// Q5_K's fifth bit of weight l is bit g of qh[l].
template <class Block>
QuantGroup k4_group(const std::byte* bytes, int g) {
  const auto block = read_block<Block>(bytes);
  QuantGroup group;
  const uint8_t* qs = block.qs + 32 * (g / 2);
  const int shift = 4 * (g % 2);
  for (int l = 0; l < kGroupElems; ++l) {
    int q = (qs[l] >> shift) & 0x0F;
    if constexpr (sizeof(Block) == sizeof(BlockQ5_K)) q |= ((block.qh[l] >> g) & 1) << 4;
    group.q[l] = static_cast<int8_t>(q);
  }
  int sc, m;
  k_scale_min(block.scales, g, &sc, &m);
  fill_scale(group, f16_to_f32(block.d) * static_cast<float>(sc));
  group.min = f16_to_f32(block.dmin) * static_cast<float>(m);
  return group;
}

// Group g = 4c + s of chunk c: low (s < 2) or high nibbles of ql[64 c + 32 (s % 2), +32), the
// high 2 bits at bit 2 s of qh[32 c + l]; q - 32. Lanes 0-3 take scale 2 g, lanes 4-7 2 g + 1.
QuantGroup q6_k_group(const std::byte* bytes, int g) {
  const auto block = read_block<BlockQ6_K>(bytes);
  QuantGroup group;
  const int c = g / 4, s = g % 4;
  const uint8_t* ql = block.ql + 64 * c + 32 * (s % 2);
  const uint8_t* qh = block.qh + 32 * c;
  for (int l = 0; l < kGroupElems; ++l) {
    const int low = (ql[l] >> (4 * (s / 2))) & 0x0F;
    const int high = (qh[l] >> (2 * s)) & 3;
    group.q[l] = static_cast<int8_t>((low | (high << 4)) - 32);
  }
  const float d = f16_to_f32(block.d);
  for (int j = 0; j < 8; ++j) group.scale[j] = d * static_cast<float>(block.scales[2 * g + j / 4]);
  return group;
}

}  // namespace

QuantGeometry quant_geometry(DType type) {
  switch (type) {
    case DType::kQ8_0:
      return {sizeof(BlockQ8_0), 1, false};
    case DType::kQ4_0:
      return {sizeof(BlockQ4_0), 1, false};
    case DType::kQ4_K:
      return {sizeof(BlockQ4_K), 8, true};
    case DType::kQ5_K:
      return {sizeof(BlockQ5_K), 8, true};
    case DType::kQ6_K:
      return {sizeof(BlockQ6_K), 8, false};
    default:
      return {};
  }
}

QuantGroup decode_group(DType type, const std::byte* block, int g) {
  switch (type) {
    case DType::kQ4_0:
      return q4_0_group(block);
    case DType::kQ4_K:
      return k4_group<BlockQ4_K>(block, g);
    case DType::kQ5_K:
      return k4_group<BlockQ5_K>(block, g);
    case DType::kQ6_K:
      return q6_k_group(block, g);
    default:
      return q8_0_group(block);
  }
}

}  // namespace mamba2::kernels
