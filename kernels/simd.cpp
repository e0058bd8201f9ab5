#include "kernels/simd.h"

#include <cstdlib>
#include <string>

namespace mamba2::kernels {
namespace {

SimdLevel best_supported_level() {
  const auto cpu = xsimd::available_architectures();
  if (cpu.avx512bw) return SimdLevel::kAvx512;
  if (cpu.fma3_avx2) return SimdLevel::kAvx2;
  return SimdLevel::kSse2;
}

SimdLevel level_from_environment() {
  SimdLevel level = best_supported_level();
  if (const char* cap = std::getenv("MAMBA2_SIMD")) {
    const std::string name(cap);
    for (SimdLevel candidate : {SimdLevel::kSse2, SimdLevel::kAvx2, SimdLevel::kAvx512}) {
      if (name == simd_level_name(candidate) && candidate < level) level = candidate;
    }
  }
  return level;
}

}  // namespace

std::string_view simd_level_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::kAvx512:
      return "avx512";
    case SimdLevel::kAvx2:
      return "avx2";
    case SimdLevel::kSse2:
      break;
  }
  return "sse2";
}

SimdLevel simd_level() {
  static const SimdLevel level = level_from_environment();
  return level;
}

bool simd_level_supported(SimdLevel level) { return level <= best_supported_level(); }

}  // namespace mamba2::kernels
