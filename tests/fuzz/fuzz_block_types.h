// The types the block_quants fuzzer picks with its first byte; make_fuzz_seeds writes a seed for
// each.
#pragma once

#include "mamba2/dtype.h"

namespace mamba2::fuzz {

inline constexpr DType kFuzzBlockTypes[] = {
    DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ8_0,   DType::kQ2_K,
    DType::kQ3_K, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kIQ4_NL, DType::kIQ4_XS};

}  // namespace mamba2::fuzz
