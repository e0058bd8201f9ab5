#include <cmath>

#include "mamba2/error.h"
#include "mamba2/forecaster.h"
#include "runtime/forecast/forecaster_gguf.h"
#include "runtime/forecast/mamba2_jax_checkpoint.h"

namespace mamba2 {
namespace {

constexpr int64_t kMaxDim = int64_t{1} << 20;

void check_tensor(const TensorView& view, const TensorShape& expected, const char* name,
                  const std::string& where) {
  if (view.empty()) throw Error(where, std::string("tensor '") + name + "' is missing");
  if (view.dtype != DType::kF32)
    throw Error(where, std::string("tensor '") + name + "' is not f32");
  if (!(view.shape == expected)) {
    throw Error(where, std::string("tensor '") + name + "' has shape " + view.shape.str() +
                           ", expected " + expected.str());
  }
}

void check_scaling(const SeriesScaling& scaling, int64_t columns, const char* what,
                   const std::string& where) {
  if (scaling.empty() && scaling.scale.empty()) return;
  if (static_cast<int64_t>(scaling.mean.size()) != columns ||
      static_cast<int64_t>(scaling.scale.size()) != columns) {
    throw Error(where, std::string(what) + " scaling has the wrong number of columns");
  }
  for (float scale : scaling.scale) {
    if (!(scale > 0.0f) || !std::isfinite(scale)) {
      throw Error(where, std::string(what) + " scaling holds a scale that is not positive");
    }
  }
}

}  // namespace

void check_forecaster_weights(const ForecasterWeights& weights, const std::string& where) {
  const ForecasterShape& s = weights.shape;
  for (const auto& [value, name] :
       {std::pair{s.input_dim, "input_dim"}, std::pair{s.output_dim, "output_dim"},
        std::pair{s.horizon, "horizon"}}) {
    if (value < 1 || value > kMaxDim) {
      throw Error(where, std::string(name) + " is " + std::to_string(value) + ", expected 1.." +
                             std::to_string(kMaxDim));
    }
  }
  const int64_t d_model = weights.backbone.config.d_model;
  check_tensor(weights.input_proj, {d_model, s.input_dim}, "input_proj.weight", where);
  check_tensor(weights.input_proj_bias, {d_model}, "input_proj.bias", where);
  check_tensor(weights.output_proj, {s.outputs(), d_model}, "output_proj.weight", where);
  check_tensor(weights.output_proj_bias, {s.outputs()}, "output_proj.bias", where);
  check_scaling(weights.input_scaling, s.input_dim, "input", where);
  check_scaling(weights.output_scaling, s.output_dim, "output", where);
  const auto names = [&](const std::vector<std::string>& columns, int64_t n, const char* what) {
    if (!columns.empty() && static_cast<int64_t>(columns.size()) != n) {
      throw Error(where, std::string(what) + " column names do not match the model's width");
    }
  };
  if (weights.context < 0 || weights.context > kMaxDim) {
    throw Error(where, "context is " + std::to_string(weights.context) + ", expected 0.." +
                           std::to_string(kMaxDim));
  }
  if (weights.relative && weights.context < 1) {
    throw Error(where, "a window-relative model needs its context");
  }
  names(weights.input_columns, s.input_dim, "input");
  names(weights.output_columns, s.output_dim, "output");
}

ForecasterWeights load_forecaster_weights(const std::filesystem::path& path) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) return load_mamba2_jax_forecaster(path);
  const GgufFile file = GgufFile::open(path);
  const auto arch = file.find_string("general.architecture");
  if (!arch || *arch != kForecasterArchitecture) {
    throw Error(path.string(), "is not a mamba2-forecaster GGUF (general.architecture is '" +
                                   std::string(arch.value_or("")) + "')");
  }
  return read_forecaster_gguf(file);
}

}  // namespace mamba2
