// Our quantizers against llama.cpp's own: every block-quantized tensor of every llama-quantize
// output in shared/fixtures/llamacpp_quants (quantized without an importance matrix) is
// requantized here from the F32 source, row by row, and must come out byte for byte. Every such
// tensor's dequantization must also equal the plain per-weight formulas of
// reference_dequantize.h, bit for bit.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "quant/block_quants.h"
#include "runtime/gguf/gguf_file.h"
#include "tests/quant/reference_dequantize.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

std::filesystem::path fixture(const std::string& type) {
  return testing::fixture_dir("llamacpp_quants") / ("mamba2-qtest-" + type + ".gguf");
}

std::string hex(const std::byte* bytes, int64_t count) {
  std::string text;
  char digits[4];
  for (int64_t i = 0; i < count; ++i) {
    std::snprintf(digits, sizeof digits, "%02x", static_cast<unsigned>(bytes[i]));
    text += digits;
  }
  return text;
}

// A block-quantized tensor of a llama-quantize output: [rows, row_elems] weights.
struct QuantizedTensor {
  const GgufTensorInfo* info;
  const std::byte* bytes;
  int64_t row_elems;
  int64_t rows;
  uint64_t row_bytes;
};

std::vector<QuantizedTensor> quantized_tensors(const GgufFile& file) {
  std::vector<QuantizedTensor> out;
  for (const GgufTensorInfo& info : file.tensors()) {
    if (!is_block_quant(info.dtype)) continue;
    const int64_t row_elems = info.shape[info.shape.rank - 1];
    out.push_back({&info, file.view(info).data, row_elems, info.shape.numel() / row_elems,
                   *dtype_bytes(info.dtype, row_elems)});
  }
  return out;
}

// Every llama-quantize output of the fixture, by the type name llama-quantize was given.
class LlamaCppQuants : public ::testing::TestWithParam<const char*> {};

TEST_P(LlamaCppQuants, QuantizerWritesLlamaQuantizeBytes) {
  const GgufFile source = GgufFile::open(fixture("F32"));
  const GgufFile file = GgufFile::open(fixture(GetParam()));
  const std::vector<QuantizedTensor> tensors = quantized_tensors(file);
  // ssm_in and ssm_out of both layers, and token_embd.
  ASSERT_EQ(tensors.size(), 5u);
  int64_t blocks = 0;
  for (const QuantizedTensor& t : tensors) {
    const std::string& name = t.info->name;
    const GgufTensorInfo* src = source.find_tensor(name);
    ASSERT_NE(src, nullptr) << name;
    ASSERT_EQ(src->dtype, DType::kF32) << name;
    ASSERT_EQ(src->shape.numel(), t.info->shape.numel()) << name;
    const float* x = source.view(*src).f32().data();
    const int64_t block_bytes = dtype_info(t.info->dtype).block_bytes;
    std::vector<std::byte> ours(t.row_bytes);
    for (int64_t r = 0; r < t.rows; ++r) {
      quantize_row(t.info->dtype, x + r * t.row_elems, ours.data(), t.row_elems);
      const std::byte* theirs = t.bytes + r * t.row_bytes;
      if (std::memcmp(ours.data(), theirs, t.row_bytes) == 0) continue;
      // The tensor's first differing block, then on to the next tensor.
      int64_t at = 0;
      while (ours[at] == theirs[at]) ++at;
      const int64_t block = at / block_bytes;
      ADD_FAILURE() << name << " (" << dtype_name(t.info->dtype) << "): row " << r << ", block "
                    << block << " differs from llama-quantize's at byte " << at % block_bytes
                    << "\n  ours:   " << hex(ours.data() + block * block_bytes, block_bytes)
                    << "\n  theirs: " << hex(theirs + block * block_bytes, block_bytes);
      break;
    }
    blocks += static_cast<int64_t>(t.rows * t.row_bytes) / block_bytes;
  }
  RecordProperty("blocks", std::to_string(blocks));
  std::printf("[ llama.cpp] %s: %zu tensors, %lld blocks byte for byte\n", GetParam(),
              tensors.size(), static_cast<long long>(blocks));
}

TEST_P(LlamaCppQuants, DequantizeIsThePerWeightFormula) {
  const GgufFile file = GgufFile::open(fixture(GetParam()));
  for (const QuantizedTensor& t : quantized_tensors(file)) {
    std::vector<float> row(static_cast<size_t>(t.row_elems));
    for (int64_t r = 0; r < t.rows; ++r) {
      const std::byte* bytes = t.bytes + r * t.row_bytes;
      dequantize_row(t.info->dtype, bytes, row.data(), t.row_elems);
      for (int64_t i = 0; i < t.row_elems; ++i) {
        const float expected = testing::reference_weight(t.info->dtype, bytes, i);
        // Bit for bit: the same products in the same order as ggml's and gguf-py's.
        if (std::memcmp(&row[i], &expected, sizeof expected) != 0) {
          FAIL() << t.info->name << " row " << r << " weight " << i << ": " << row[i] << " vs "
                 << expected;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(EveryType, LlamaCppQuants,
                         ::testing::Values("Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K_M",
                                           "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K", "IQ4_NL",
                                           "IQ4_XS"),
                         [](const auto& param) { return std::string(param.param); });

}  // namespace
}  // namespace mamba2
