// Flax names and layouts to ours: Dense kernels [in, out] and the conv kernel [d_conv, 1, C] are
// transposed, the backbone's tensors renamed to state-spaces names, and the rest is the checkpoint
// loader's work (assign_checkpoint_tensors: A = -exp(A_log), shapes checked).
#include "runtime/forecast/mamba2_jax_checkpoint.h"

#include <charconv>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "mamba2/error.h"
#include "quant/row_conversion.h"
#include "runtime/formats/checkpoint_names.h"
#include "runtime/formats/npz.h"
#include "runtime/formats/safetensors.h"

namespace mamba2 {
namespace {

using json = nlohmann::json;

// How a Flax leaf becomes a state-spaces tensor.
enum class Layout {
  kSame,       // [n] or already [out, in]
  kTranspose,  // Dense kernel [in, out] -> weight [out, in]
  kConv,       // Conv kernel [d_conv, 1, C] -> conv1d.weight [C, 1, d_conv]
};

struct LeafName {
  std::string_view flax;  // 0.1.x linen and 1.x NNX spellings share a row's target
  std::string_view ours;
  Layout layout;
};

// Under "mamba2.layers_{l}." (linen) or "mamba2.layers.{l}." (NNX); ours under
// "backbone.layers.{l}.".
constexpr LeafName kLayerLeaves[] = {
    {"norm.weight", "norm.weight", Layout::kSame},
    {"mixer.in_proj.kernel", "mixer.in_proj.weight", Layout::kTranspose},
    {"mixer.conv1d.Conv_0.kernel", "mixer.conv1d.weight", Layout::kConv},
    {"mixer.conv1d.conv.kernel", "mixer.conv1d.weight", Layout::kConv},
    {"mixer.conv1d.Conv_0.bias", "mixer.conv1d.bias", Layout::kSame},
    {"mixer.conv1d.conv.bias", "mixer.conv1d.bias", Layout::kSame},
    {"mixer.dt_bias", "mixer.dt_bias", Layout::kSame},
    {"mixer.A_log", "mixer.A_log", Layout::kSame},
    {"mixer.D", "mixer.D", Layout::kSame},
    {"mixer.norm.weight", "mixer.norm.weight", Layout::kSame},
    {"mixer.out_proj.kernel", "mixer.out_proj.weight", Layout::kTranspose},
};

constexpr LeafName kModelLeaves[] = {
    {"mamba2.norm_f.weight", "backbone.norm_f.weight", Layout::kSame},
    {"mamba2.final_norm.weight", "backbone.norm_f.weight", Layout::kSame},  // 1.x
    {"input_proj.kernel", "input_proj.weight", Layout::kTranspose},
    {"input_proj.bias", "input_proj.bias", Layout::kSame},
    {"output_proj.kernel", "output_proj.weight", Layout::kTranspose},
    {"output_proj.bias", "output_proj.bias", Layout::kSame},
};

// The token embedding Mamba2Model declares but the forecaster never calls: [1, d_model] if saved.
constexpr std::string_view kUnusedEmbeddings[] = {"mamba2.embeddings.embedding",
                                                  "mamba2.embedder.embedding"};

struct Mapped {
  std::string name;
  Layout layout;
};

std::optional<Mapped> map_leaf(std::string_view name) {
  for (const LeafName& leaf : kModelLeaves) {
    if (name == leaf.flax) return Mapped{std::string(leaf.ours), leaf.layout};
  }
  for (std::string_view prefix : {"mamba2.layers_", "mamba2.layers."}) {
    if (!name.starts_with(prefix)) continue;
    const std::string_view rest = name.substr(prefix.size());
    int64_t layer = 0;
    const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), layer);
    if (ec != std::errc() || end == rest.data() || *end != '.') return std::nullopt;
    const std::string_view suffix = rest.substr(static_cast<size_t>(end - rest.data()) + 1);
    for (const LeafName& leaf : kLayerLeaves) {
      if (suffix == leaf.flax) {
        return Mapped{"backbone.layers." + std::to_string(layer) + "." + std::string(leaf.ours),
                      leaf.layout};
      }
    }
  }
  return std::nullopt;
}

// The tensor as f32 in our layout, in an owned buffer kept by `out.storage`.
CheckpointTensor converted(const CheckpointTensor& tensor, const Mapped& mapped,
                           CheckpointTensors& out, const std::string& where) {
  int64_t n = 1;
  for (int64_t dim : tensor.shape) n *= dim;
  std::vector<float> values(static_cast<size_t>(n));
  convert_row_to_f32(tensor.dtype, tensor.bytes.data(), values.data(), n);
  std::vector<int64_t> shape = tensor.shape;
  const auto fail = [&](const char* expected) {
    return Error(where, "tensor '" + tensor.name + "' should be " + expected);
  };
  if (mapped.layout == Layout::kTranspose) {
    if (shape.size() != 2) throw fail("a 2-D Dense kernel [in, out]");
    std::vector<float> t(values.size());
    const int64_t in = shape[0], outs = shape[1];
    for (int64_t i = 0; i < in; ++i) {
      for (int64_t o = 0; o < outs; ++o) t[o * in + i] = values[i * outs + o];
    }
    values.swap(t);
    shape = {outs, in};
  } else if (mapped.layout == Layout::kConv) {
    if (shape.size() != 3 || shape[1] != 1) throw fail("a depthwise Conv kernel [d_conv, 1, C]");
    std::vector<float> t(values.size());
    const int64_t taps = shape[0], channels = shape[2];
    for (int64_t k = 0; k < taps; ++k) {
      for (int64_t c = 0; c < channels; ++c) t[c * taps + k] = values[k * channels + c];
    }
    values.swap(t);
    shape = {channels, 1, taps};
  }
  auto buffer = std::make_shared<std::vector<float>>(std::move(values));
  CheckpointTensor result{mapped.name, DType::kF32, shape, std::as_bytes(std::span(*buffer))};
  out.storage.push_back(std::move(buffer));
  return result;
}

int64_t field(const json& config, const char* key, std::optional<int64_t> fallback,
              const std::string& where) {
  const auto it = config.find(key);
  if (it == config.end()) {
    if (!fallback) throw Error(where, std::string("'") + key + "' is missing");
    return *fallback;
  }
  if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > (1 << 20)) {
    throw Error(where, std::string("'") + key + "' should be a positive integer");
  }
  return it->get<int64_t>();
}

json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw Error(path.string(), "cannot open");
  std::stringstream text;
  text << in.rdbuf();
  try {
    json config = json::parse(text.str());
    if (!config.is_object()) throw Error(path.string(), "is not a JSON object");
    return config;
  } catch (const json::exception& e) {
    throw Error(path.string(), std::string("is not JSON: ") + e.what());
  }
}

const CheckpointTensor* take(std::map<std::string, CheckpointTensor>& heads, const char* name) {
  const auto it = heads.find(name);
  return it == heads.end() ? nullptr : &it->second;
}

}  // namespace

ForecasterWeights load_mamba2_jax_forecaster(const std::filesystem::path& dir) {
  const std::filesystem::path config_path = dir / "config.json";
  const std::string config_where = config_path.string();
  const json config = read_json(config_path);
  ForecasterWeights weights;
  // The Mamba2Forecaster constructor's defaults; input_dim has none.
  const int64_t d_model = field(config, "d_model", 768, config_where);
  weights.shape.input_dim = field(config, "input_dim", std::nullopt, config_where);
  weights.shape.output_dim = field(config, "output_dim", 1, config_where);
  weights.shape.horizon = field(config, "forecast_horizon", 24, config_where);
  weights.backbone.config = forecaster_backbone_config(
      d_model, field(config, "n_layers", 4, config_where),
      field(config, "d_state", 128, config_where), field(config, "headdim", 64, config_where),
      field(config, "d_conv", 4, config_where), field(config, "chunk_size", 256, config_where));
  weights.backbone.name = dir.filename().string();
  if (weights.backbone.name.empty()) weights.backbone.name = dir.parent_path().filename().string();

  std::filesystem::path params = dir / "params.safetensors";
  CheckpointTensors file;
  if (std::filesystem::exists(params)) {
    file = read_safetensors(params);
  } else if (params = dir / "params.npz"; std::filesystem::exists(params)) {
    file = read_npz(params);
  } else {
    throw Error(dir.string(), "has neither params.safetensors nor params.npz");
  }
  const std::string where = params.string();

  CheckpointTensors backbone;
  std::map<std::string, CheckpointTensor> heads;
  for (CheckpointTensor& tensor : file.tensors) {
    std::string_view name = tensor.name;
    if (name.starts_with("params.")) name.remove_prefix(7);  // the whole `variables` flattened
    if (std::find(std::begin(kUnusedEmbeddings), std::end(kUnusedEmbeddings), name) !=
        std::end(kUnusedEmbeddings)) {
      continue;
    }
    const auto mapped = map_leaf(name);
    if (!mapped)
      throw Error(where, "tensor '" + tensor.name + "' is not a Mamba2Forecaster parameter");
    CheckpointTensor ours = converted(tensor, *mapped, backbone, where);
    if (ours.name.starts_with("backbone.")) {
      backbone.tensors.push_back(std::move(ours));
    } else if (!heads.emplace(ours.name, ours).second) {
      throw Error(where, "tensor '" + tensor.name + "' appears twice");
    }
  }
  // The backbone's token embedding: one zero row, never read (embeddings replace it).
  auto zero_row = std::make_shared<std::vector<float>>(static_cast<size_t>(d_model), 0.0f);
  backbone.tensors.push_back(CheckpointTensor{
      "backbone.embedding.weight", DType::kF32, {1, d_model}, std::as_bytes(std::span(*zero_row))});
  backbone.storage.push_back(std::move(zero_row));

  ModelWeights& model = weights.backbone;
  const auto slots = {std::pair{"input_proj.weight", &weights.input_proj},
                      std::pair{"input_proj.bias", &weights.input_proj_bias},
                      std::pair{"output_proj.weight", &weights.output_proj},
                      std::pair{"output_proj.bias", &weights.output_proj_bias}};
  for (const auto& [name, view] : slots) {
    const CheckpointTensor* tensor = take(heads, name);
    if (!tensor) throw Error(where, std::string("tensor '") + name + "' is missing");
    if (tensor->shape.size() > kMaxTensorRank) {
      throw Error(where, std::string("tensor '") + name + "' has " +
                             std::to_string(tensor->shape.size()) + " dimensions, more than " +
                             std::to_string(kMaxTensorRank));
    }
    TensorShape shape;
    shape.rank = static_cast<int>(tensor->shape.size());
    std::copy(tensor->shape.begin(), tensor->shape.end(), shape.dims.begin());
    *view = TensorView{DType::kF32, shape, tensor->bytes.data(), tensor->bytes.size()};
  }
  assign_checkpoint_tensors(model, std::move(backbone), where);
  check_model_weights(model, where);
  check_forecaster_weights(weights, where);
  return weights;
}

}  // namespace mamba2
