#include "kernels/timing_machine.h"

#include <cpuid.h>

#include <cstdlib>
#include <cstring>
#include <string_view>

#include "kernels/simd.h"
#include "runtime/io/timed_choices.h"

namespace mamba2::kernels {
namespace {

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define MAMBA2_SANITIZED_BUILD 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MAMBA2_SANITIZED_BUILD 1
#endif

#ifdef MAMBA2_SANITIZED_BUILD
constexpr std::string_view kBuild = "sanitized";
#else
constexpr std::string_view kBuild = "plain";
#endif

std::string cpu_brand() {
  unsigned regs[12] = {};
  for (unsigned leaf = 0; leaf < 3; ++leaf) {
    if (!__get_cpuid(0x80000002u + leaf, &regs[4 * leaf], &regs[4 * leaf + 1], &regs[4 * leaf + 2],
                     &regs[4 * leaf + 3])) {
      return "unknown cpu";
    }
  }
  char text[sizeof(regs) + 1] = {};
  std::memcpy(text, regs, sizeof(regs));
  std::string brand(text);
  while (!brand.empty() && brand.back() == ' ') brand.pop_back();
  return brand;
}

}  // namespace

std::string timing_machine_key() {
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  return timed_choice_text("v1 " + cpu_brand() + ", " + std::string(path_name(simd_level())) +
                           ", OPENBLAS_CORETYPE=" + (coretype ? coretype : "") + ", " +
                           std::string(kBuild) + " build");
}

}  // namespace mamba2::kernels
