// The projection shapes of the released Mamba-2 models, shared by the projection benchmarks.
#pragma once

#include <array>
#include <cstdint>

namespace mamba2::kernels {

struct Shape {
  const char* name;
  int64_t n;  // output rows of W
  int64_t k;  // inputs
};

// in_proj: N = 2*d_inner + 2*ngroups*d_state + nheads, K = d_model; out_proj: N = d_model,
// K = d_inner (d_inner = 2*d_model, d_state 128, ngroups 1, headdim 64).
inline constexpr std::array<Shape, 8> kShapes = {{
    {"130m in_proj", 3352, 768},
    {"130m out_proj", 768, 1536},
    {"370m in_proj", 4384, 1024},
    {"370m out_proj", 1024, 2048},
    {"2.7b in_proj", 10576, 2560},
    {"2.7b out_proj", 2560, 5120},
    {"1.3b in_proj", 8512, 2048},
    {"1.3b out_proj", 2048, 4096},
}};

}  // namespace mamba2::kernels
