// A mamba2-jax Mamba2Forecaster directory: fc_sine's config.json beside the input as
// params.safetensors (a link to the in-memory file), through the Flax-name mapping, the Dense and
// Conv transposes and the shape checks.
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>

#include "mamba2/error.h"
#include "mamba2/forecaster.h"
#include "tests/fuzz/fuzz_input_file.h"

namespace {

// A directory holding config.json and params.safetensors -> `params`.
std::filesystem::path make_directory(const std::filesystem::path& params) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "mamba2_jax_fuzz.XXXXXX").string();
  if (!mkdtemp(pattern.data())) std::abort();
  const std::filesystem::path dir = pattern;
  std::ofstream(dir / "config.json")
      << R"({"input_dim": 1, "d_model": 64, "n_layers": 2, "output_dim": 1,
             "forecast_horizon": 8, "d_state": 32, "headdim": 16, "d_conv": 4,
             "chunk_size": 16})";
  std::filesystem::create_symlink(params, dir / "params.safetensors");
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static mamba2::fuzz::FuzzInputFile file("mamba2_jax");
  static const std::filesystem::path dir = make_directory(file.write(nullptr, 0));
  file.write(data, size);
  try {
    mamba2::load_forecaster_weights(dir);
  } catch (const mamba2::Error&) {
  }
  return 0;
}
