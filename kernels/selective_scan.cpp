#include "kernels/selective_scan.h"

#include <cmath>

#include "kernels/simd.h"

namespace mamba2::kernels {

void selective_scan(const SelectiveScanChunk& chunk, float* state, float* y, int64_t ld_y,
                    int64_t d_begin, int64_t d_end) {
  dispatch(SelectiveScanKernel{}, chunk, state, y, ld_y, d_begin, d_end);
}

void selective_scan_state(const SelectiveScanChunk& chunk, float* state_local, float* decay,
                          int64_t d_begin, int64_t d_end) {
  dispatch(SelectiveScanStateKernel{}, chunk, state_local, decay, d_begin, d_end);
}

void selective_state_pass(const float* decay, const float* state_in, const float* state_local,
                          float* state_out, int64_t begin, int64_t end) {
  dispatch(SelectiveStatePassKernel{}, decay, state_in, state_local, state_out, begin, end);
}

namespace ref {

void selective_scan(const SelectiveScanChunk& chunk, float* state, float* y, int64_t ld_y,
                    int64_t d_begin, int64_t d_end) {
  const int64_t N = chunk.d_state;
  for (int64_t t = 0; t < chunk.tokens; ++t) {
    const float* B = chunk.B + t * chunk.ld_bc;
    const float* C = chunk.C + t * chunk.ld_bc;
    for (int64_t d = d_begin; d < d_end; ++d) {
      const float dt = chunk.dt[t * chunk.ld_dt + d];
      const float x = chunk.x[t * chunk.ld_x + d];
      float* h = state + d * N;  // [N]
      float sum = 0.0f;
      for (int64_t n = 0; n < N; ++n) {
        h[n] = std::exp(dt * chunk.A[d * N + n]) * h[n] + dt * x * B[n];
        sum += C[n] * h[n];
      }
      y[t * ld_y + d] = sum + chunk.D[d] * x;
    }
  }
}

void selective_scan_state(const SelectiveScanChunk& chunk, float* state_local, float* decay,
                          int64_t d_begin, int64_t d_end) {
  const int64_t N = chunk.d_state;
  for (int64_t d = d_begin; d < d_end; ++d) {
    float* h = state_local + d * N;  // [N]
    float dt_sum = 0.0f;
    for (int64_t n = 0; n < N; ++n) h[n] = 0.0f;
    for (int64_t t = 0; t < chunk.tokens; ++t) {
      const float dt = chunk.dt[t * chunk.ld_dt + d];
      const float dtx = dt * chunk.x[t * chunk.ld_x + d];
      const float* B = chunk.B + t * chunk.ld_bc;
      for (int64_t n = 0; n < N; ++n) h[n] = std::exp(dt * chunk.A[d * N + n]) * h[n] + dtx * B[n];
      dt_sum += dt;
    }
    // prod_t exp(dt_t A) = exp(A sum_t dt_t).
    for (int64_t n = 0; n < N; ++n) decay[d * N + n] = std::exp(dt_sum * chunk.A[d * N + n]);
  }
}

}  // namespace ref
}  // namespace mamba2::kernels
