// ggml's block types on arbitrary bytes. The first byte picks the type (kFuzzBlockTypes); the
// rest, cut to whole blocks, is dequantized, and, read as floats (NaNs and infinities included),
// quantized. Neither may crash, touch memory outside the row, or hit undefined behaviour.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <vector>

#include "quant/block_quants.h"
#include "tests/fuzz/fuzz_block_types.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mamba2;
  if (size == 0) return 0;
  const DType type = fuzz::kFuzzBlockTypes[data[0] % std::size(fuzz::kFuzzBlockTypes)];
  const DTypeInfo& info = dtype_info(type);
  const auto rest = static_cast<int64_t>(size - 1);

  // Exactly the whole blocks, in an allocation of their own, so ASan sees any read past them.
  const int64_t blocks = rest / info.block_bytes;
  if (blocks > 0) {
    const auto* first = reinterpret_cast<const std::byte*>(data + 1);
    const std::vector<std::byte> bytes(first, first + blocks * info.block_bytes);
    std::vector<float> weights(static_cast<size_t>(blocks * info.block_elems));
    dequantize_row(type, bytes.data(), weights.data(), blocks * info.block_elems);
  }

  const int64_t n =
      rest / static_cast<int64_t>(sizeof(float)) / info.block_elems * info.block_elems;
  if (n > 0) {
    std::vector<float> x(static_cast<size_t>(n));
    std::memcpy(x.data(), data + 1, static_cast<size_t>(n) * sizeof(float));
    std::vector<std::byte> out(*dtype_bytes(type, n));
    quantize_row(type, x.data(), out.data(), n);
  }
  return 0;
}
