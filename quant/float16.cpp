#include "quant/float16.h"

#include <cpuid.h>

#include <bit>
#include <cstring>

namespace mamba2 {
namespace {

float float_from_bits(uint32_t bits) { return std::bit_cast<float>(bits); }
uint32_t bits_from_float(float value) { return std::bit_cast<uint32_t>(value); }

}  // namespace

// CPUID leaf 1 for F16C (clang 14 rejects "f16c" in __builtin_cpu_supports); the avx check
// also says the OS saves the YMM registers.
bool cpu_has_f16c() {
  static const bool has = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    return __builtin_cpu_supports("avx") != 0 && __get_cpuid(1, &eax, &ebx, &ecx, &edx) &&
           (ecx & bit_F16C) != 0;
  }();
  return has;
}

// The branch-free conversions of the FP16 library (Maratyszcza), which ggml uses when the CPU has
// no conversion instruction. Both rely on float arithmetic rounding to nearest even, the default.
float f16_to_f32(uint16_t bits) {
  const uint32_t w = static_cast<uint32_t>(bits) << 16;
  const uint32_t sign = w & 0x80000000u;
  const uint32_t two_w = w + w;

  // Normal halves: shift exponent and mantissa into place, then rebias by scaling with 2^-112.
  const uint32_t exp_offset = 0xE0u << 23;
  const float exp_scale = 0x1.0p-112f;
  const float normalized = float_from_bits((two_w >> 4) + exp_offset) * exp_scale;

  // Subnormal halves: place the mantissa under an exponent of 2^-1 and subtract that 0.5.
  const uint32_t magic_mask = 126u << 23;
  const float denormalized = float_from_bits((two_w >> 17) | magic_mask) - 0.5f;

  const uint32_t denormalized_cutoff = 1u << 27;
  const uint32_t result = sign | (two_w < denormalized_cutoff ? bits_from_float(denormalized)
                                                              : bits_from_float(normalized));
  return float_from_bits(result);
}

uint16_t f32_to_f16(float value) {
  // Scaling up then down by powers of two makes the hardware do the rounding of the mantissa.
  const float scale_to_inf = 0x1.0p+112f;
  const float scale_to_zero = 0x1.0p-110f;
  float base = (__builtin_fabsf(value) * scale_to_inf) * scale_to_zero;

  const uint32_t w = bits_from_float(value);
  const uint32_t shl1_w = w + w;
  const uint32_t sign = w & 0x80000000u;
  uint32_t bias = shl1_w & 0xFF000000u;
  if (bias < 0x71000000u) bias = 0x71000000u;

  base = float_from_bits((bias >> 1) + 0x07800000u) + base;
  const uint32_t bits = bits_from_float(base);
  const uint32_t exp_bits = (bits >> 13) & 0x00007C00u;
  const uint32_t mantissa_bits = bits & 0x00000FFFu;
  const uint32_t nonsign = exp_bits + mantissa_bits;
  return static_cast<uint16_t>((sign >> 16) | (shl1_w > 0xFF000000u ? 0x7E00u : nonsign));
}

uint16_t f32_to_bf16(float value) {
  const uint32_t bits = bits_from_float(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) {
    return static_cast<uint16_t>((bits >> 16) | 64);  // NaN: keep it one, force the quiet bit
  }
  return static_cast<uint16_t>((bits + (0x7fffu + ((bits >> 16) & 1u))) >> 16);
}

void f16_row_to_f32(const std::byte* src, float* dst, int64_t n) {
  if (cpu_has_f16c()) return float16_detail::f16_row_to_f32_f16c(src, dst, n);
  for (int64_t i = 0; i < n; ++i) {
    uint16_t bits;
    std::memcpy(&bits, src + 2 * i, sizeof bits);
    dst[i] = f16_to_f32(bits);
  }
}

}  // namespace mamba2
