#include "kernels/ssd.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/simd.h"
#include "kernels/ssd_simd.h"
#include "kernels/ssd_step_simd.h"

namespace mamba2::kernels {

int64_t ssd_workspace_floats(const SsdShape& shape, int64_t tokens) {
  return SsdWorkspaceLayout(shape, tokens).total;
}

int64_t ssd_scan_workspace_floats(const SsdShape& shape, int64_t tokens) {
  return SsdScanWorkspaceLayout(shape, tokens, kSsdSubChunk).total;
}

void ssd_chunk_scan(const SsdShape& shape, const SsdChunk& chunk, const float* state_in,
                    float* state_out, float* y, int64_t ld_y, float* workspace, int64_t h_begin,
                    int64_t h_end) {
  dispatch(SsdChunkScanKernel{}, shape, chunk, state_in, state_out, y, ld_y, workspace, h_begin,
           h_end, kSsdSubChunk);
}

void ssd_chunk_state(const SsdShape& shape, const SsdChunk& chunk, float* state_local, float* decay,
                     float* workspace, int64_t h_begin, int64_t h_end) {
  dispatch(SsdChunkStateKernel{}, shape, chunk, state_local, decay, workspace, h_begin, h_end);
}

void ssd_chunk_output(const SsdShape& shape, const SsdChunk& chunk, const float* state_in, float* y,
                      int64_t ld_y, float* workspace, int64_t h_begin, int64_t h_end) {
  dispatch(SsdChunkOutputKernel{}, shape, chunk, state_in, y, ld_y, workspace, h_begin, h_end);
}

void ssd_state_pass(const SsdShape& shape, const float* decay, const float* state_in,
                    const float* state_local, float* state_out, int64_t h_begin, int64_t h_end) {
  dispatch(SsdStatePassKernel{}, shape, decay, state_in, state_local, state_out, h_begin, h_end);
}

void ssd_step(const SsdShape& shape, const float* x, const float* B, const float* C,
              const float* dt, const float* A, const float* D, float* state, float* y,
              int64_t h_begin, int64_t h_end) {
  dispatch(SsdStepKernel{}, shape, x, B, C, dt, A, D, state, y, h_begin, h_end);
}

namespace ref {
namespace {

int64_t group_of(const SsdShape& shape, int64_t h) { return h / (shape.heads / shape.groups); }

float d_of(const SsdShape& shape, const float* D, int64_t h, int64_t p) {
  return shape.d_has_hdim ? D[h * shape.headdim + p] : D[h];
}

// cum[t] = sum_{s <= t} dt[s][h] * A[h]: the log of the decay from the chunk start to token t.
std::vector<float> decay_cumsum(const SsdShape& shape, const SsdChunk& chunk, int64_t h) {
  std::vector<float> cum(chunk.tokens);
  float sum = 0.0f;
  for (int64_t t = 0; t < chunk.tokens; ++t) {
    sum += chunk.dt[t * shape.heads + h] * chunk.A[h];
    cum[t] = sum;
  }
  return cum;
}

}  // namespace

void ssd_recurrent(const SsdShape& shape, const SsdChunk& chunk, float* state, float* y,
                   int64_t ld_y) {
  for (int64_t t = 0; t < chunk.tokens; ++t) {
    ref::ssd_step(shape, chunk.x + t * chunk.ld_x, chunk.B + t * chunk.ld_bc,
                  chunk.C + t * chunk.ld_bc, chunk.dt + t * shape.heads, chunk.A, chunk.D, state,
                  y + t * ld_y, 0, shape.heads);
  }
}

void ssd_chunk_state(const SsdShape& shape, const SsdChunk& chunk, float* state_local, float* decay,
                     int64_t h_begin, int64_t h_end) {
  const int64_t T = chunk.tokens, P = shape.headdim, N = shape.d_state;
  for (int64_t h = h_begin; h < h_end; ++h) {
    float* S = state_local + h * P * N;  // [P, N]
    std::fill(S, S + P * N, 0.0f);
    decay[h] = 1.0f;
    if (T <= 0) continue;
    const std::vector<float> cum = decay_cumsum(shape, chunk, h);
    const float* B = chunk.B + group_of(shape, h) * N;
    for (int64_t t = 0; t < T; ++t) {
      // The decay from token t to the end of the chunk, times the input's step size.
      const float weight = std::exp(cum[T - 1] - cum[t]) * chunk.dt[t * shape.heads + h];
      for (int64_t p = 0; p < P; ++p) {
        const float wx = weight * chunk.x[t * chunk.ld_x + h * P + p];
        for (int64_t n = 0; n < N; ++n) S[p * N + n] += wx * B[t * chunk.ld_bc + n];
      }
    }
    decay[h] = std::exp(cum[T - 1]);
  }
}

void ssd_chunk_output(const SsdShape& shape, const SsdChunk& chunk, const float* state_in, float* y,
                      int64_t ld_y, int64_t h_begin, int64_t h_end) {
  const int64_t T = chunk.tokens, P = shape.headdim, N = shape.d_state;
  std::vector<float> cb(T * T);  // [T, T]
  for (int64_t h = h_begin; h < h_end; ++h) {
    const std::vector<float> cum = decay_cumsum(shape, chunk, h);
    const float* B = chunk.B + group_of(shape, h) * N;
    const float* C = chunk.C + group_of(shape, h) * N;
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t s = 0; s <= t; ++s) {
        float dot = 0.0f;
        for (int64_t n = 0; n < N; ++n) dot += C[t * chunk.ld_bc + n] * B[s * chunk.ld_bc + n];
        cb[t * T + s] = dot;
      }
    }
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t p = 0; p < P; ++p) {
        // Intra-chunk: sum over earlier tokens s of (C_t . B_s) exp(cum_t - cum_s) dt_s x_s.
        float sum = 0.0f;
        for (int64_t s = 0; s <= t; ++s) {
          sum += cb[t * T + s] * std::exp(cum[t] - cum[s]) * chunk.dt[s * shape.heads + h] *
                 chunk.x[s * chunk.ld_x + h * P + p];
        }
        // The entering state, decayed to token t, read out by C_t.
        if (state_in) {
          const float* S = state_in + (h * P + p) * N;
          float dot = 0.0f;
          for (int64_t n = 0; n < N; ++n) dot += C[t * chunk.ld_bc + n] * S[n];
          sum += std::exp(cum[t]) * dot;
        }
        const float x = chunk.x[t * chunk.ld_x + h * P + p];
        y[t * ld_y + h * P + p] = sum + d_of(shape, chunk.D, h, p) * x;
      }
    }
  }
}

void ssd_step(const SsdShape& shape, const float* x, const float* B, const float* C,
              const float* dt, const float* A, const float* D, float* state, float* y,
              int64_t h_begin, int64_t h_end) {
  const int64_t P = shape.headdim, N = shape.d_state;
  for (int64_t h = h_begin; h < h_end; ++h) {
    const int64_t g = group_of(shape, h);
    const float a = std::exp(dt[h] * A[h]);
    for (int64_t p = 0; p < P; ++p) {
      float* S = state + (h * P + p) * N;
      const float dtx = dt[h] * x[h * P + p];
      float sum = 0.0f;
      for (int64_t n = 0; n < N; ++n) {
        S[n] = a * S[n] + dtx * B[g * N + n];
        sum += S[n] * C[g * N + n];
      }
      y[h * P + p] = sum + d_of(shape, D, h, p) * x[h * P + p];
    }
  }
}

}  // namespace ref
}  // namespace mamba2::kernels
