// What a timing of two kernel paths depends on besides the shape: the CPU, the SIMD level the
// kernels run at, OpenBLAS's kernel choice and whether this is a sanitizer build. The key under
// which runtime/io/timed_choices.h keeps this machine's choices.
#pragma once

#include <string>

namespace mamba2::kernels {

// One line without tabs, e.g. "v1 Intel(R) Xeon(R) Processor, avx512, OPENBLAS_CORETYPE=, plain
// build".
std::string timing_machine_key();

}  // namespace mamba2::kernels
