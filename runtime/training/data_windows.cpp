#include "mamba2/data_windows.h"

#include <algorithm>
#include <string>

#include "mamba2/error.h"

namespace mamba2 {
namespace {

// SplitMix64's finaliser: a well-mixed 64-bit hash of a counter.
uint64_t mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

DataWindows::DataWindows(std::vector<int32_t> tokens, int64_t seq_len, uint64_t seed)
    : tokens_(std::move(tokens)), seq_len_(seq_len), seed_(seed) {
  if (static_cast<int64_t>(tokens_.size()) < seq_len + 1) {
    throw Error("training data", "has " + std::to_string(tokens_.size()) +
                                     " tokens, fewer than one window of seq_len + 1 = " +
                                     std::to_string(seq_len + 1));
  }
}

std::vector<int32_t> DataWindows::batch(int64_t step, int64_t batch_size) const {
  const uint64_t starts = tokens_.size() - static_cast<uint64_t>(seq_len_);  // windows that fit
  std::vector<int32_t> out(static_cast<size_t>(batch_size * (seq_len_ + 1)));
  for (int64_t row = 0; row < batch_size; ++row) {
    const uint64_t key = mix(seed_ ^ mix(uint64_t(step) * 0x100000001b3ULL + uint64_t(row)));
    const uint64_t start = key % starts;
    std::copy_n(tokens_.begin() + int64_t(start), seq_len_ + 1, out.begin() + row * (seq_len_ + 1));
  }
  return out;
}

}  // namespace mamba2
