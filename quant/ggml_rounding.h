// The float -> int conversions of ggml's quantizers (ggml/src/ggml-quants.c), reproduced exactly:
// a quantizer that must write llama-quantize's bytes has to round every value the way ggml does.
// Internal to quant/.
#pragma once

#include <cstdint>
#include <cstring>

namespace mamba2::ggml_rounding {

// ggml's GROUP_MAX_EPS: a group whose largest magnitude is below it is all zeros.
inline constexpr float kGroupMaxEps = 1e-15f;

// ggml's nearest_int: round to nearest, ties to even, through the float adder. Adding 1.5 * 2^23
// leaves round(x) in the low mantissa bits. Exact for |x| < 2^22; larger values, infinities and
// NaNs give a deterministic wrong answer, as in ggml (which only asserts the range).
inline int nearest_int(float x) {
  const float shifted = x + 12582912.0f;
  int32_t bits;
  std::memcpy(&bits, &shifted, sizeof bits);
  return (bits & 0x007fffff) - 0x00400000;
}

// C's (int) cast of a float, truncating toward zero, as x86's cvttss2si does it: a NaN or a value
// outside int's range gives INT32_MIN instead of undefined behaviour. The legacy quantizers cast
// this way, so any input gives the bytes ggml gives on x86.
inline int truncate_to_int(float x) {
  if (x > -2147483904.0f && x < 2147483648.0f) return static_cast<int>(x);
  return INT32_MIN;
}

}  // namespace mamba2::ggml_rounding
