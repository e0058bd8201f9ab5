// Q8_0 path for CPUs with AVX-VNNI (compiled with -mavx2 -mfma -mf16c -mavxvnni).
#define MAMBA2_DPBUSD _mm256_dpbusd_avx_epi32
#include "kernels/matmul_q8_0_vnni.h"

namespace mamba2::kernels::q8_0_detail {

void matmul_avxvnni(const MatmulOperands& args, const Q8_0Activations& xq, int64_t n_begin,
                    int64_t n_end) {
  q8_0_avx::matmul<VnniOps>(args, xq, n_begin, n_end);
}

}  // namespace mamba2::kernels::q8_0_detail
