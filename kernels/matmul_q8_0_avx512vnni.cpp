// Q8_0 path for CPUs with AVX512-VNNI (compiled with -mavx512f -mavx512bw -mavx512vl
// -mavx512vnni -mfma -mf16c): the 256-bit form of vpdpbusd, which AVX512-VL provides.
#define MAMBA2_DPBUSD _mm256_dpbusd_epi32
#include "kernels/matmul_q8_0_vnni.h"

namespace mamba2::kernels::q8_0_detail {

void matmul_avx512vnni(const TypedMatmulArgs& args, const Q8_0Activations& xq, int64_t n_begin,
                       int64_t n_end) {
  q8_0_avx::matmul<VnniOps>(args, xq, n_begin, n_end);
}

}  // namespace mamba2::kernels::q8_0_detail
