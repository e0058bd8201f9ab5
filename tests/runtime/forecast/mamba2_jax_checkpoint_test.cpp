// Damaged mamba2-jax directories: each is refused with an Error naming the tensor.
#include <gtest/gtest.h>

#include "mamba2/forecaster.h"
#include "tests/runtime/formats/format_test_util.h"
#include "tests/runtime/formats/raw_safetensors.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

// A copy of fc_sine whose params.safetensors header has `edit` applied.
std::filesystem::path edited_copy(const std::string& tag,
                                  const std::function<void(nlohmann::json&)>& edit) {
  const auto source = testing::fixture_dir("fc_sine");
  const auto dir = testing::scratch_dir() / ("fc_sine_" + tag);
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(source / "config.json", dir / "config.json",
                             std::filesystem::copy_options::overwrite_existing);
  auto raw = testing::RawSafetensors::read(source / "params.safetensors");
  edit(raw.header);
  raw.write(dir / "params.safetensors");
  return dir;
}

// A head tensor of more dimensions than a TensorShape holds, its bytes still matching its shape.
TEST(Mamba2JaxCheckpoint, RefusesAHeadTensorOfFiveDimensions) {
  const auto dir = edited_copy("bias_5d", [](nlohmann::json& header) {
    header["input_proj.bias"]["shape"] = {1, 1, 1, 1, 64};
  });
  EXPECT_ERROR_MENTIONS(load_forecaster_weights(dir), "'input_proj.bias' has 5 dimensions");
}

}  // namespace
}  // namespace mamba2
