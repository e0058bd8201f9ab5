#include "quant/dequantize_isa.h"

#include "quant/float16.h"

namespace mamba2 {

bool dequant_isa_supported(DequantIsa isa) {
  switch (isa) {
    case DequantIsa::kAvx512:
      // The wide half is AVX512F; the byte unpacking (SSSE3) and the scales (F16C) are older.
      return __builtin_cpu_supports("avx512f") != 0 && cpu_has_f16c();
    case DequantIsa::kAvx2:
      return __builtin_cpu_supports("avx2") != 0 && cpu_has_f16c();
    case DequantIsa::kScalar:
      break;
  }
  return true;
}

DequantIsa best_dequant_isa() {
  static const DequantIsa best = [] {
    for (DequantIsa isa : {DequantIsa::kAvx512, DequantIsa::kAvx2}) {
      if (dequant_isa_supported(isa)) return isa;
    }
    return DequantIsa::kScalar;
  }();
  return best;
}

}  // namespace mamba2
