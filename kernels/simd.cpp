#include "kernels/simd.h"

#include <cstdlib>

namespace mamba2::kernels {
namespace {

bool cpu_has_avx2() { return xsimd::available_architectures().fma3_avx2 != 0; }
bool cpu_has_avx512() { return xsimd::available_architectures().avx512bw != 0; }

SimdLevel level_from_environment() {
  SimdLevel level = first_supported({SimdLevel::kAvx512, SimdLevel::kAvx2}, SimdLevel::kSse2);
  if (const char* cap = std::getenv("MAMBA2_SIMD")) {
    for (const PathInfo<SimdLevel>& candidate : path_table(level)) {
      if (cap == candidate.name && candidate.path < level) level = candidate.path;
    }
  }
  return level;
}

}  // namespace

std::span<const PathInfo<SimdLevel>> path_table(SimdLevel) {
  static constexpr PathInfo<SimdLevel> kTable[] = {
      {SimdLevel::kSse2, "sse2", any_cpu},
      {SimdLevel::kAvx2, "avx2", cpu_has_avx2},
      {SimdLevel::kAvx512, "avx512", cpu_has_avx512},
  };
  return kTable;
}

SimdLevel simd_level() {
  static const SimdLevel level = level_from_environment();
  return level;
}

}  // namespace mamba2::kernels
