#include "runtime/forecast/forecaster_gguf.h"

#include "mamba2/error.h"
#include "runtime/gguf/gguf_keys.h"
#include "runtime/gguf/gguf_model.h"

namespace mamba2 {
namespace {

constexpr const char* kInputDim = "mamba2-forecaster.input_dim";
constexpr const char* kOutputDim = "mamba2-forecaster.output_dim";
constexpr const char* kHorizon = "mamba2-forecaster.horizon";
constexpr const char* kInputColumns = "mamba2-forecaster.input_columns";
constexpr const char* kOutputColumns = "mamba2-forecaster.output_columns";
constexpr const char* kContext = "mamba2-forecaster.context";
constexpr const char* kRelative = "mamba2-forecaster.window_shift";
constexpr std::string_view kTensorPrefix = "forecast.";

// The head's tensors, by name, for writing and reading alike.
const std::pair<const char*, TensorView ForecasterWeights::*> kHeadTensors[] = {
    {"forecast.input_proj.weight", &ForecasterWeights::input_proj},
    {"forecast.input_proj.bias", &ForecasterWeights::input_proj_bias},
    {"forecast.output_proj.weight", &ForecasterWeights::output_proj},
    {"forecast.output_proj.bias", &ForecasterWeights::output_proj_bias},
};

struct ScalingTensors {
  const char* mean;
  const char* scale;
  SeriesScaling ForecasterWeights::*scaling;
};
const ScalingTensors kScalings[] = {
    {"forecast.input_mean", "forecast.input_scale", &ForecasterWeights::input_scaling},
    {"forecast.output_mean", "forecast.output_scale", &ForecasterWeights::output_scaling},
};

TensorView vector_view(const std::vector<float>& values) {
  return TensorView{DType::kF32,
                    {static_cast<int64_t>(values.size())},
                    reinterpret_cast<const std::byte*>(values.data()),
                    values.size() * sizeof(float)};
}

std::vector<float> read_vector(const GgufFile& file, const char* name) {
  const GgufTensorInfo* info = file.find_tensor(name);
  if (!info) throw Error(file.where(), std::string("tensor '") + name + "' is missing");
  const TensorView view = file.view(*info);
  const auto values = view.f32();
  return {values.begin(), values.end()};
}

std::vector<std::string> read_names(const GgufFile& file, const char* key) {
  const auto names = file.find_string_array(key);
  if (!names) return {};
  return {names->begin(), names->end()};
}

}  // namespace

void write_forecaster_gguf(const ForecasterWeights& weights, const std::filesystem::path& path) {
  const std::string where = path.string();
  check_forecaster_weights(weights, where);
  GgufWriter out = gguf_model_writer(weights.backbone, path, {}, kForecasterArchitecture);
  out.add_uint32(kInputDim, static_cast<uint32_t>(weights.shape.input_dim));
  out.add_uint32(kOutputDim, static_cast<uint32_t>(weights.shape.output_dim));
  out.add_uint32(kHorizon, static_cast<uint32_t>(weights.shape.horizon));
  if (!weights.input_columns.empty()) out.add_string_array(kInputColumns, weights.input_columns);
  if (!weights.output_columns.empty()) out.add_string_array(kOutputColumns, weights.output_columns);
  if (weights.context > 0) out.add_uint32(kContext, static_cast<uint32_t>(weights.context));
  if (weights.relative) out.add_uint32(kRelative, 1);
  for (const auto& [name, member] : kHeadTensors) out.add_tensor(name, weights.*member);
  for (const ScalingTensors& s : kScalings) {
    const SeriesScaling& scaling = weights.*s.scaling;
    if (scaling.empty()) continue;
    out.add_tensor(s.mean, vector_view(scaling.mean));
    out.add_tensor(s.scale, vector_view(scaling.scale));
  }
  out.write(path);
}

ForecasterWeights read_forecaster_gguf(const GgufFile& file) {
  ForecasterWeights weights;
  weights.backbone =
      read_gguf_model(file, [](std::string_view name) { return name.starts_with(kTensorPrefix); });
  weights.backbone.storage.push_back(file.mapping());
  weights.shape.input_dim = file.get_int(kInputDim);
  weights.shape.output_dim = file.get_int(kOutputDim);
  weights.shape.horizon = file.get_int(kHorizon);
  for (const auto& [name, member] : kHeadTensors) {
    const GgufTensorInfo* info = file.find_tensor(name);
    if (!info) throw Error(file.where(), std::string("tensor '") + name + "' is missing");
    weights.*member = file.view(*info);
  }
  for (const ScalingTensors& s : kScalings) {
    if (!file.find_tensor(s.mean) && !file.find_tensor(s.scale)) continue;
    (weights.*s.scaling).mean = read_vector(file, s.mean);
    (weights.*s.scaling).scale = read_vector(file, s.scale);
  }
  weights.input_columns = read_names(file, kInputColumns);
  weights.output_columns = read_names(file, kOutputColumns);
  weights.context = file.find_int(kContext).value_or(0);
  weights.relative = file.find_int(kRelative).value_or(0) != 0;
  check_forecaster_weights(weights, file.where());
  return weights;
}

}  // namespace mamba2
