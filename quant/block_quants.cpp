#include "quant/block_quants.h"

#include <cstring>
#include <string>

#include "mamba2/error.h"
#include "quant/dequantize_isa.h"
#include "quant/iq4.h"
#include "quant/k_quants.h"
#include "quant/legacy_quants.h"
#include "quant/q8_0.h"

namespace mamba2 {
namespace {

// Blocks are copied through a local struct: row bytes need not be aligned.
template <class Block>
void quantize_blocks(Block (*quantize)(const float*), int64_t block_elems, const float* src,
                     std::byte* dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b) {
    const Block block = quantize(src + b * block_elems);
    std::memcpy(dst + b * static_cast<int64_t>(sizeof(Block)), &block, sizeof block);
  }
}

template <class Block>
void dequantize_blocks(void (*dequantize)(const Block&, float*), int64_t block_elems,
                       const std::byte* src, float* dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b) {
    Block block;
    std::memcpy(&block, src + b * static_cast<int64_t>(sizeof(Block)), sizeof block);
    dequantize(block, dst + b * block_elems);
  }
}

// The number of blocks in `n` weights of `type`; throws for another type or a partial block.
int64_t whole_blocks(const char* where, DType type, int64_t n) {
  const std::string name(dtype_name(type));
  if (!is_block_quant(type)) throw Error(where, name + " is not a block-quantized type");
  const int64_t block_elems = dtype_info(type).block_elems;
  if (n < 0 || n % block_elems != 0) {
    throw Error(where, std::to_string(n) + " weights is not a whole number of " +
                           std::to_string(block_elems) + "-weight " + name + " blocks");
  }
  return n / block_elems;
}

}  // namespace

bool is_block_quant(DType type) { return dtype_info(type).block_elems > 1; }

void quantize_row(DType type, const float* src, std::byte* dst, int64_t n) {
  const int64_t blocks = whole_blocks("quantize_row", type, n);
  switch (type) {
    case DType::kQ4_0:
      return quantize_blocks(quantize_block_q4_0, kLegacyBlockElems, src, dst, blocks);
    case DType::kQ4_1:
      return quantize_blocks(quantize_block_q4_1, kLegacyBlockElems, src, dst, blocks);
    case DType::kQ5_0:
      return quantize_blocks(quantize_block_q5_0, kLegacyBlockElems, src, dst, blocks);
    case DType::kQ5_1:
      return quantize_blocks(quantize_block_q5_1, kLegacyBlockElems, src, dst, blocks);
    case DType::kQ8_0:
      return quantize_row_q8_0(src, dst, n);
    case DType::kQ2_K:
      return quantize_blocks(quantize_block_q2_K, kKBlockElems, src, dst, blocks);
    case DType::kQ3_K:
      return quantize_blocks(quantize_block_q3_K, kKBlockElems, src, dst, blocks);
    case DType::kQ4_K:
      return quantize_blocks(quantize_block_q4_K, kKBlockElems, src, dst, blocks);
    case DType::kQ5_K:
      return quantize_blocks(quantize_block_q5_K, kKBlockElems, src, dst, blocks);
    case DType::kQ6_K:
      return quantize_blocks(quantize_block_q6_K, kKBlockElems, src, dst, blocks);
    case DType::kIQ4_NL:
      return quantize_blocks(quantize_block_iq4_nl, kIQ4_NLBlockElems, src, dst, blocks);
    case DType::kIQ4_XS:
      return quantize_blocks(quantize_block_iq4_xs, kIQ4_XSBlockElems, src, dst, blocks);
    case DType::kF32:
    case DType::kF16:
    case DType::kBF16:
      break;  // refused by whole_blocks
  }
}

void dequantize_row(DType type, const std::byte* src, float* dst, int64_t n) {
  dequantize_row_at(best_dequant_isa(), type, src, dst, n);
}

void dequantize_row_at(DequantIsa isa, DType type, const std::byte* src, float* dst, int64_t n) {
  const int64_t blocks = whole_blocks("dequantize_row", type, n);
  const DequantIsa best = best_dequant_isa();
  if (isa > best) isa = best;
  if (isa == DequantIsa::kAvx512 &&
      dequantize_detail::dequantize_blocks_avx512(type, src, dst, blocks)) {
    return;
  }
  if (isa >= DequantIsa::kAvx2 &&
      dequantize_detail::dequantize_blocks_avx2(type, src, dst, blocks)) {
    return;
  }
  switch (type) {
    case DType::kQ4_0:
      return dequantize_blocks(dequantize_block_q4_0, kLegacyBlockElems, src, dst, blocks);
    case DType::kQ4_1:
      return dequantize_blocks(dequantize_block_q4_1, kLegacyBlockElems, src, dst, blocks);
    case DType::kQ5_0:
      return dequantize_blocks(dequantize_block_q5_0, kLegacyBlockElems, src, dst, blocks);
    case DType::kQ5_1:
      return dequantize_blocks(dequantize_block_q5_1, kLegacyBlockElems, src, dst, blocks);
    case DType::kQ8_0:
      return dequantize_row_q8_0(src, dst, n);
    case DType::kQ2_K:
      return dequantize_blocks(dequantize_block_q2_K, kKBlockElems, src, dst, blocks);
    case DType::kQ3_K:
      return dequantize_blocks(dequantize_block_q3_K, kKBlockElems, src, dst, blocks);
    case DType::kQ4_K:
      return dequantize_blocks(dequantize_block_q4_K, kKBlockElems, src, dst, blocks);
    case DType::kQ5_K:
      return dequantize_blocks(dequantize_block_q5_K, kKBlockElems, src, dst, blocks);
    case DType::kQ6_K:
      return dequantize_blocks(dequantize_block_q6_K, kKBlockElems, src, dst, blocks);
    case DType::kIQ4_NL:
      return dequantize_blocks(dequantize_block_iq4_nl, kIQ4_NLBlockElems, src, dst, blocks);
    case DType::kIQ4_XS:
      return dequantize_blocks(dequantize_block_iq4_xs, kIQ4_XSBlockElems, src, dst, blocks);
    case DType::kF32:
    case DType::kF16:
    case DType::kBF16:
      break;  // refused by whole_blocks
  }
}

}  // namespace mamba2
