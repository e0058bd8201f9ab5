// The file of f32 GEMM choices in the user's cache directory (kernels/f32_gemm_path_file.h):
// whatever it holds parses, and what parsed writes back and parses to the same choices.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "kernels/f32_gemm_path_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mamba2::kernels;
  const F32GemmPathChoices choices =
      parse_f32_gemm_path_file(std::string_view(reinterpret_cast<const char*>(data), size));
  if (choices.size() > kMaxF32GemmPathLines) std::abort();
  if (parse_f32_gemm_path_file(format_f32_gemm_path_file(choices)) != choices) std::abort();
  return 0;
}
