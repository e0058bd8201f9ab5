// OpenBLAS, opened on the first f32 GEMM that takes its sgemm (dlopen) instead of linked: a
// process whose projections never do (bf16, the block types, f32 where our panel GEMM won at load)
// does not map it and libgfortran, nor start its thread, nor fault in their pages: 2.2 MiB of a
// q8_0 130m session's resident memory, where the whole budget above the file and the states is 7.
#pragma once

#include <cblas.h>

namespace mamba2::kernels {

struct OpenBlas {
  decltype(&cblas_sgemm) sgemm;
};

// The library, opened and set to one thread on first use (TBB owns the cores: each tile's sgemm
// runs on the thread that called it; OpenBLAS would otherwise start a pool as wide as the
// machine). Throws Error, one line, when the library or a symbol is missing.
const OpenBlas& openblas();

}  // namespace mamba2::kernels
