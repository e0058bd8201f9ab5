// Half-precision floats as GGUF files store them: IEEE binary16 ("f16") and bfloat16 ("bf16"),
// converted bit-exactly as ggml converts them. Whole rows of any weight type: row_conversion.h.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mamba2 {

// IEEE binary16 -> float32; exact for every input (subnormals, infinities, NaNs).
float f16_to_f32(uint16_t bits);
// float32 -> IEEE binary16, rounding to nearest even; overflow gives infinity, NaN gives 0x7E00
// (with the sign), as ggml_compute_fp32_to_fp16.
uint16_t f32_to_f16(float value);
// dst[0, n) = f16_to_f32 of the n halves at src (unaligned, little-endian), through F16C where the
// CPU has it (vcvtph2ps gives the same floats; a NaN's payload may differ).
void f16_row_to_f32(const std::byte* src, float* dst, int64_t n);

// bfloat16 -> float32: the upper half of the float's bits.
inline float bf16_to_f32(uint16_t bits) {
  const uint32_t word = static_cast<uint32_t>(bits) << 16;
  float value;
  __builtin_memcpy(&value, &word, sizeof value);
  return value;
}
// float32 -> bfloat16, rounding to nearest even; a NaN stays a NaN with its quiet bit forced on,
// as ggml_compute_fp32_to_bf16.
uint16_t f32_to_bf16(float value);

// Whether this CPU has the F16C conversions (and saves YMM registers).
bool cpu_has_f16c();

namespace float16_detail {
void f16_row_to_f32_f16c(const std::byte* src, float* dst, int64_t n);  // only after a CPU check
}  // namespace float16_detail

}  // namespace mamba2
