// mamba2-quantize's path for a GGUF input: requantize_gguf on any file. Either one Error, or an
// output that parses and loads, whose keys are the input's in order (less those llama-quantize
// rewrites) followed by general.quantization_version and general.file_type.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "mamba2/error.h"
#include "mamba2/gguf.h"
#include "mamba2/quantization.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/gguf_model.h"
#include "tests/fuzz/fuzz_input_file.h"

namespace {

namespace fs = std::filesystem;

bool rewritten(const std::string& key) {
  return key == "general.file_type" || key == "general.quantization_version" ||
         key == "general.alignment" || key == "split.no" || key == "split.count" ||
         key == "split.tensors.count";
}

void check_output(const fs::path& input, const fs::path& output) {
  const mamba2::GgufFile in = mamba2::GgufFile::open(input);
  const mamba2::GgufFile out = mamba2::GgufFile::open(output);
  mamba2::load_gguf_model(out);
  size_t k = 0;
  for (const auto& [key, value] : in.metadata()) {
    if (rewritten(key)) continue;
    if (k >= out.metadata().size() || out.metadata()[k].first != key ||
        out.metadata()[k].second.type != value.type) {
      std::abort();
    }
    ++k;
  }
  if (out.metadata().size() != k + 2 || out.tensors().size() != in.tensors().size()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static mamba2::fuzz::FuzzInputFile file("gguf_requantize");
  static const fs::path output =
      fs::temp_directory_path() / ("mamba2-requantize-fuzz-" + std::to_string(getpid()) + ".gguf");
  const fs::path& input = file.write(data, size);
  // A 256-weight K-quant (fallbacks, the tied-output rule) or a 32-weight type, by input size.
  mamba2::GgufWriteOptions options;
  options.quantization = mamba2::QuantizationPolicy::for_llama_file_type(
      size % 2 ? mamba2::LlamaFileType::kQ4_K_M : mamba2::LlamaFileType::kQ8_0);
  try {
    mamba2::requantize_gguf(input, output, options);
  } catch (const mamba2::Error&) {
    return 0;
  }
  try {
    check_output(input, output);  // what we wrote must read back
  } catch (const mamba2::Error&) {
    std::abort();
  }
  std::error_code ignored;
  fs::remove(output, ignored);
  return 0;
}
