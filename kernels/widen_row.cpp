#include "kernels/widen_row.h"

#include <cpuid.h>

#include "quant/row_conversion.h"

namespace mamba2::kernels {

namespace {

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

}  // namespace

void widen_row_to_f32(DType type, const std::byte* src, float* dst, int64_t n) {
  // f16 rows are the only ones whose scalar conversion (a software half -> float per weight)
  // costs more than the GEMV that follows; the block types dequantize at their own pace.
  if (type == DType::kF16 && cpu_has_f16c()) return widen_detail::widen_f16_f16c(src, dst, n);
  convert_row_to_f32(type, src, dst, n);
}

}  // namespace mamba2::kernels
