// A mamba2-forecaster GGUF as mamba2-forecast loads it: read_forecaster_gguf (the backbone's
// mamba2 keys and tensors, the head's keys, tensors, scalings, columns, the trained context and
// window shift), the Forecaster built from it, and one forecast of a short window through the
// engine and through the whole-window forward of both scans.
#include <cstddef>
#include <cstdint>

#include "mamba2/error.h"
#include "mamba2/forecaster.h"
#include "mamba2/forecaster_training.h"
#include "tests/fuzz/fuzz_input_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static mamba2::fuzz::FuzzInputFile file("forecaster_gguf");
  try {
    mamba2::ForecasterWeights weights = mamba2::load_forecaster_weights(file.write(data, size));
    const std::vector<float> window(static_cast<size_t>(3 * weights.shape.input_dim), 0.5f);
    const mamba2::ThreadingContext threading(1);
    for (const auto ssd : {mamba2::SsdVariant::kExact, mamba2::SsdVariant::kMamba2Jax01}) {
      mamba2::forecast_windows_whole(weights, window, 3, ssd, threading);
    }
    const auto forecaster = std::make_shared<const mamba2::Forecaster>(std::move(weights));
    mamba2::forecast_windows(forecaster, window, 3);
  } catch (const mamba2::Error&) {
  }
  return 0;
}
