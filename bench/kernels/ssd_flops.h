// The SSD scan's arithmetic, for the "%FMA_peak" counters of bench_ssd and bench_mixer.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/ssd.h"

namespace mamba2::kernels {

// The multiply-adds (2 FLOPs each) of one chunk of `tokens` through output, state and state pass,
// counting the causal half of the L x L products (tri = L (L + 1) / 2): per group C B^T
// (tri x N), per head the masked scores times x (tri x P), C times the carried state and B^T times
// x (L x N x P each), and the state pass (P x N).
inline double ssd_chunk_flops(const SsdShape& s, int64_t tokens) {
  const double l = static_cast<double>(tokens), tri = l * (l + 1) / 2;
  const double n = static_cast<double>(s.d_state), p = static_cast<double>(s.headdim);
  return 2 * (static_cast<double>(s.groups) * tri * n +
              static_cast<double>(s.heads) * (tri * p + 2 * l * n * p + p * n));
}

// The multiply-adds of one chunk of `tokens` scanned in sub-chunks of `sub` tokens: the
// ssd_chunk_flops of each sub-chunk.
inline double ssd_scan_flops(const SsdShape& s, int64_t tokens, int64_t sub) {
  double flops = 0;
  for (int64_t begin = 0; begin < tokens; begin += sub) {
    flops += ssd_chunk_flops(s, std::min(sub, tokens - begin));
  }
  return flops;
}

}  // namespace mamba2::kernels
