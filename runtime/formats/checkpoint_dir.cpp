#include "runtime/formats/checkpoint_dir.h"

#include <string_view>

#include "mamba2/error.h"
#include "mamba2/tokenizer_file.h"
#include "runtime/formats/checkpoint_names.h"
#include "runtime/formats/config_json.h"
#include "runtime/formats/safetensors.h"
#include "runtime/formats/torch_zip.h"
#include "runtime/io/mapped_file.h"

namespace mamba2 {
namespace {

// Config files are a few hundred bytes; anything huge is not one.
constexpr uint64_t kMaxConfigBytes = 16u << 20;

ModelConfig read_config_file(const std::filesystem::path& path) {
  const auto file = MappedFile::open(path);
  if (file->size() > kMaxConfigBytes) throw Error(path.string(), "config file is too large");
  const std::string_view text(reinterpret_cast<const char*>(file->data()), file->size());
  return parse_config_json(text, path.string());
}

CheckpointTensors read_weights_file(const std::filesystem::path& path) {
  const std::string name = path.filename().string();
  if (name.ends_with(".safetensors")) return read_safetensors(path);
  if (name.ends_with(".index.json")) return read_safetensors_index(path);
  if (name.ends_with(".bin") || name.ends_with(".pt") || name.ends_with(".pth")) {
    return read_torch_zip(path);
  }
  throw Error(path.string(),
              "unknown weights file type (expected .safetensors, "
              ".safetensors.index.json or a torch .bin)");
}

std::string directory_name(const std::filesystem::path& dir) {
  auto normal = dir.lexically_normal();
  if (!normal.has_filename()) normal = normal.parent_path();
  std::string name = normal.filename().string();
  if (name.empty() || name == ".")
    name = std::filesystem::absolute(dir).lexically_normal().filename().string();
  return name;
}

}  // namespace

ModelWeights load_checkpoint_files(const std::filesystem::path& config_file,
                                   const std::filesystem::path& weights_file, std::string name) {
  ModelWeights weights;
  weights.config = read_config_file(config_file);
  weights.name = std::move(name);
  assign_checkpoint_tensors(weights, read_weights_file(weights_file), weights_file.string());
  check_model_weights(weights, weights_file.string());
  return weights;
}

ModelWeights load_checkpoint_directory(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) throw Error(dir.string(), "not a directory");

  fs::path config_file;
  for (const char* candidate : {"config.json", "params.json"}) {
    if (fs::is_regular_file(dir / candidate)) {
      config_file = dir / candidate;
      break;
    }
  }
  if (config_file.empty()) throw Error(dir.string(), "has no config.json or params.json");

  fs::path weights_file;
  for (const char* candidate : {"model.safetensors", "model.safetensors.index.json",
                                "consolidated.safetensors", "pytorch_model.bin"}) {
    if (fs::is_regular_file(dir / candidate)) {
      weights_file = dir / candidate;
      break;
    }
  }
  if (weights_file.empty()) {
    throw Error(dir.string(),
                "has no model.safetensors, model.safetensors.index.json, "
                "consolidated.safetensors or pytorch_model.bin");
  }
  ModelWeights weights = load_checkpoint_files(config_file, weights_file, directory_name(dir));
  // Checkpoints without a tokenizer file work on token ids only.
  weights.tokenizer = load_tokenizer_directory(dir);
  return weights;
}

}  // namespace mamba2
