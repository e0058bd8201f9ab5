// matmul_quant's path for CPUs with AVX-VNNI (compiled with -mavx2 -mfma -mf16c -mavxvnni).
#define MAMBA2_DPBUSD _mm256_dpbusd_avx_epi32
#include "kernels/matmul_quant_vnni.h"

namespace mamba2::kernels::quant_detail {

void matmul_avxvnni(const MatmulOperands& args, const Q8_0Activations& xq, int64_t n_begin,
                    int64_t n_end) {
  quant_avx::matmul<VnniOps>(args, xq, n_begin, n_end);
}

}  // namespace mamba2::kernels::quant_detail
