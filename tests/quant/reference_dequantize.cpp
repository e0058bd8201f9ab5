#include "tests/quant/reference_dequantize.h"

#include <cstring>
#include <stdexcept>
#include <string>

#include "quant/float16.h"

namespace mamba2::testing {
namespace {

// ggml's kvalues_iq4nl (ggml-common.h).
constexpr int kIq4Levels[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                1,    13,   25,  38,  53,  69,  89,  113};

int u8(const std::byte* p, int64_t offset) { return static_cast<int>(p[offset]); }
int s8(const std::byte* p, int64_t offset) { return static_cast<int8_t>(p[offset]); }
float half(const std::byte* p, int64_t offset) {
  uint16_t bits;
  std::memcpy(&bits, p + offset, sizeof bits);
  return f16_to_f32(bits);
}
uint32_t u32(const std::byte* p, int64_t offset) {
  uint32_t bits;
  std::memcpy(&bits, p + offset, sizeof bits);
  return bits;
}
float f(int value) { return static_cast<float>(value); }

// Of 32 weights in 16 bytes at `qs`: weight k in the low nibble of byte k, k + 16 in the high.
int nibble_of_32(const std::byte* p, int64_t qs, int64_t k) {
  return (u8(p, qs + k % 16) >> (k < 16 ? 0 : 4)) & 0x0F;
}

// Q4_K / Q5_K's 6-bit scale (min = false) or minimum (min = true) of sub-block j, from the 12
// bytes at `at`.
int k4_scale(const std::byte* p, int64_t at, int64_t j, bool min) {
  if (j < 4) return u8(p, at + j + (min ? 4 : 0)) & 63;
  const int low = min ? u8(p, at + j + 4) >> 4 : u8(p, at + j + 4) & 0x0F;
  const int high = u8(p, at + j - (min ? 0 : 4)) >> 6;
  return low | (high << 4);
}

}  // namespace

ReferenceBlock reference_block(DType type) {
  switch (type) {
    case DType::kQ4_0:
      return {32, 18};
    case DType::kQ4_1:
      return {32, 20};
    case DType::kQ5_0:
      return {32, 22};
    case DType::kQ5_1:
      return {32, 24};
    case DType::kQ8_0:
      return {32, 34};
    case DType::kQ2_K:
      return {256, 84};
    case DType::kQ3_K:
      return {256, 110};
    case DType::kQ4_K:
      return {256, 144};
    case DType::kQ5_K:
      return {256, 176};
    case DType::kQ6_K:
      return {256, 210};
    case DType::kIQ4_NL:
      return {32, 18};
    case DType::kIQ4_XS:
      return {256, 136};
    case DType::kF32:
    case DType::kF16:
    case DType::kBF16:
      break;
  }
  throw std::invalid_argument("not a block type: " + std::to_string(static_cast<int>(type)));
}

float reference_weight(DType type, const std::byte* row, int64_t i) {
  const ReferenceBlock block = reference_block(type);
  const std::byte* p = row + (i / block.elems) * block.bytes;
  const int64_t k = i % block.elems;  // weight within the block
  switch (type) {
    case DType::kQ8_0:  // d, qs[32]
      return f(s8(p, 2 + k)) * half(p, 0);
    case DType::kQ4_0:  // d, qs[16]
      return f(nibble_of_32(p, 2, k) - 8) * half(p, 0);
    case DType::kQ4_1:  // d, m, qs[16]
      return f(nibble_of_32(p, 4, k)) * half(p, 0) + half(p, 2);
    case DType::kQ5_0: {  // d, qh[4], qs[16]
      const int q = nibble_of_32(p, 6, k) | static_cast<int>(((u32(p, 2) >> k) & 1) << 4);
      return f(q - 16) * half(p, 0);
    }
    case DType::kQ5_1: {  // d, m, qh[4], qs[16]
      const int q = nibble_of_32(p, 8, k) | static_cast<int>(((u32(p, 4) >> k) & 1) << 4);
      return f(q) * half(p, 0) + half(p, 2);
    }
    case DType::kQ2_K: {  // scales[16], qs[64], d, dmin
      const int sc = u8(p, k / 16);
      const int q = (u8(p, 16 + 32 * (k / 128) + k % 32) >> (2 * ((k % 128) / 32))) & 3;
      return half(p, 80) * f(sc & 0x0F) * f(q) - half(p, 82) * f(sc >> 4);
    }
    case DType::kQ3_K: {  // hmask[32], qs[64], scales[12], d
      const int64_t j = k / 16;
      const int low = j < 8 ? u8(p, 96 + j) & 0x0F : u8(p, 96 + j - 8) >> 4;
      const int high = (u8(p, 96 + 8 + j % 4) >> (2 * (j / 4))) & 3;
      const int q2 = (u8(p, 32 + 32 * (k / 128) + k % 32) >> (2 * ((k % 128) / 32))) & 3;
      const int h = (u8(p, k % 32) >> (k / 32)) & 1;
      return half(p, 108) * f((low | (high << 4)) - 32) * f(q2 - (h ? 0 : 4));
    }
    case DType::kQ4_K: {  // d, dmin, scales[12], qs[128]
      const int q = (u8(p, 16 + 32 * (k / 64) + k % 32) >> (4 * ((k % 64) / 32))) & 0x0F;
      return half(p, 0) * f(k4_scale(p, 4, k / 32, false)) * f(q) -
             half(p, 2) * f(k4_scale(p, 4, k / 32, true));
    }
    case DType::kQ5_K: {  // d, dmin, scales[12], qh[32], qs[128]
      const int low = (u8(p, 48 + 32 * (k / 64) + k % 32) >> (4 * ((k % 64) / 32))) & 0x0F;
      const int q = low + 16 * ((u8(p, 16 + k % 32) >> (k / 32)) & 1);
      return half(p, 0) * f(k4_scale(p, 4, k / 32, false)) * f(q) -
             half(p, 2) * f(k4_scale(p, 4, k / 32, true));
    }
    case DType::kQ6_K: {  // ql[128], qh[64], scales[16] (int8), d
      const int64_t o = k % 128;
      const int low = (u8(p, 64 * (k / 128) + o % 64) >> (4 * (o / 64))) & 0x0F;
      const int high = (u8(p, 128 + 32 * (k / 128) + o % 32) >> (2 * (o / 32))) & 3;
      return half(p, 208) * f(s8(p, 192 + k / 16)) * f((low | (high << 4)) - 32);
    }
    case DType::kIQ4_NL:  // d, qs[16]
      return half(p, 0) * f(kIq4Levels[nibble_of_32(p, 2, k)]);
    case DType::kIQ4_XS: {  // d, scales_h, scales_l[4], qs[128]
      const int64_t j = k / 32;
      const int scales_h = u8(p, 2) | (u8(p, 3) << 8);
      const int ls =
          ((u8(p, 4 + j / 2) >> (4 * (j % 2))) & 0x0F) | (((scales_h >> (2 * j)) & 3) << 4);
      return half(p, 0) * f(ls - 32) * f(kIq4Levels[nibble_of_32(p, 8 + 16 * j, k % 32)]);
    }
    case DType::kF32:
    case DType::kF16:
    case DType::kBF16:
      break;
  }
  throw std::invalid_argument("not a block type");
}

}  // namespace mamba2::testing
