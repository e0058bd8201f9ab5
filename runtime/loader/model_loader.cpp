#include "mamba2/model_loader.h"

#include <cstring>
#include <fstream>

#include "mamba2/error.h"
#include "runtime/formats/checkpoint_dir.h"
#include "runtime/gguf/gguf_model.h"

namespace mamba2 {
namespace {

bool starts_with_gguf_magic(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  char magic[4] = {};
  return file.read(magic, sizeof magic) && std::memcmp(magic, "GGUF", 4) == 0;
}

}  // namespace

ModelWeights load_model_weights(const std::filesystem::path& path) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) return load_checkpoint_directory(path);
  if (!std::filesystem::exists(path, error))
    throw Error(path.string(), "no such file or directory");
  if (!starts_with_gguf_magic(path)) {
    throw Error(path.string(), "not a GGUF file or a model directory");
  }
  return load_gguf_model(path);
}

std::shared_ptr<const Model> load_model(const std::filesystem::path& path,
                                        const Model::PrepareProgress& progress,
                                        const ThreadingContext& threading) {
  return std::make_shared<const Model>(load_model_weights(path), progress, threading);
}

}  // namespace mamba2
