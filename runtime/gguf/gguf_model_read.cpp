// load_gguf_model: config from the mamba2.* (or Mamba-1's mamba.*) keys and tensor shapes, weights
// as views into the mapping, tokenizer from tokenizer.ggml.*.
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "mamba2/error.h"
#include "quant/row_conversion.h"
#include "runtime/gguf/gguf_keys.h"
#include "runtime/gguf/gguf_model.h"
#include "runtime/gguf/gguf_tokenizer.h"

namespace mamba2 {
namespace {

namespace keys = gguf_keys;

// ne[i] of a shape as ggml counts it: GGUF files leave out trailing dimensions of 1
// (llama-quantize writes a one-group ssm_norm's ne {d_ssm, 1} as {d_ssm}), so any missing one is 1.
int64_t ggml_ne(const TensorShape& shape, int i) {
  return i < shape.rank ? shape[shape.rank - 1 - i] : 1;
}

// Equal shapes as llama.cpp's loader compares them: ne padded with 1s to four dimensions.
bool same_ggml_shape(const TensorShape& a, const TensorShape& b) {
  for (int i = 0; i < kMaxTensorRank; ++i) {
    if (ggml_ne(a, i) != ggml_ne(b, i)) return false;
  }
  return true;
}

// A positive dimension from the metadata, bounded so later products cannot overflow; resolve()
// applies the real limits.
int64_t get_dim(const GgufFile& file, const std::string& key) {
  const int64_t value = file.get_int(key);
  if (value <= 0 || value > (int64_t{1} << 32)) {
    throw Error(file.where(), key + " is " + std::to_string(value) + ", expected a positive size");
  }
  return value;
}

// What both architectures declare alike, and what the tensors say: the vocabulary, tying and
// the optional biases.
ModelConfig read_common_config(const GgufFile& file, const keys::ArchKeys& key) {
  const std::string& where = file.where();
  ModelConfig c;
  c.d_model = get_dim(file, key(keys::kEmbeddingLength));
  c.n_layer = get_dim(file, key(keys::kBlockCount));
  c.d_conv = get_dim(file, key(keys::kConvKernel));
  c.d_state = get_dim(file, key(keys::kStateSize));
  c.norm_eps = static_cast<float>(file.get_float(key(keys::kRmsEps)));

  // The vocabulary is whatever the embedding holds: llama.cpp files store it padded.
  const GgufTensorInfo* embedding = file.find_tensor("token_embd.weight");
  if (!embedding) throw Error(where, "tensor 'token_embd.weight' is missing");
  c.vocab_size = ggml_ne(embedding->shape, 1);
  if (!same_ggml_shape(embedding->shape, {c.vocab_size, c.d_model})) {
    throw Error(where, "tensor 'token_embd.weight' has shape " + embedding->shape.str() +
                           ", expected [vocab, " + std::to_string(c.d_model) + "]");
  }
  c.pad_vocab_size_multiple = 1;
  c.tie_embeddings = file.find_tensor("output.weight") == nullptr;
  c.conv_bias = file.find_tensor("blk.0.ssm_conv1d.bias") != nullptr;
  c.proj_bias = file.find_tensor("blk.0.ssm_in.bias") != nullptr;
  return c;
}

// llama.cpp's mamba: d_inner and dt_rank declared, expand = d_inner / d_model.
ModelConfig read_mamba1_config(const GgufFile& file) {
  const keys::ArchKeys key(keys::kMamba1ArchName);
  ModelConfig c = read_common_config(file, key);
  c.architecture = Architecture::kMamba1;
  const int64_t d_inner = get_dim(file, key(keys::kInnerSize));
  if (d_inner % c.d_model != 0) {
    throw Error(file.where(), key(keys::kInnerSize) + " (" + std::to_string(d_inner) +
                                  ") is not a multiple of the embedding length " +
                                  std::to_string(c.d_model));
  }
  c.expand = d_inner / c.d_model;
  c.dt_rank = get_dim(file, key(keys::kTimeStepRank));
  c.dt_b_c_rms = file.find_bool(key(keys::kDtBCRms)).value_or(false);
  if (const auto eps = file.find_float(key(keys::kDtBCRmsEps))) {
    c.dt_b_c_rms_eps = static_cast<float>(*eps);
  }
  c.resolve(file.where());
  return c;
}

ModelConfig read_mamba2_config(const GgufFile& file) {
  const std::string& where = file.where();
  const keys::ArchKeys key(keys::kArchName);
  ModelConfig c = read_common_config(file, key);
  const int64_t d_ssm = get_dim(file, key(keys::kInnerSize));
  c.ngroups = get_dim(file, key(keys::kGroupCount));
  const int64_t nheads = get_dim(file, key(keys::kTimeStepRank));
  if (d_ssm % nheads != 0) {
    throw Error(where, key(keys::kTimeStepRank) + " (" + std::to_string(nheads) +
                           ") does not divide " + key(keys::kInnerSize) + " (" +
                           std::to_string(d_ssm) + ")");
  }
  c.headdim = d_ssm / nheads;

  // What llama.cpp's layout leaves implicit, read from the first block's tensors: the MLP-free
  // width d_inner (ssm_out's input), and which optional tensors exist.
  if (const GgufTensorInfo* out = file.find_tensor("blk.0.ssm_out.weight")) {
    const int64_t d_inner = ggml_ne(out->shape, 0);
    if (d_inner % c.d_model != 0) {
      throw Error(where, "tensor 'blk.0.ssm_out.weight' input width " + std::to_string(d_inner) +
                             " is not a multiple of the embedding length " +
                             std::to_string(c.d_model));
    }
    c.expand = d_inner / c.d_model;
  } else {
    c.expand = d_ssm / c.d_model > 0 ? d_ssm / c.d_model : 1;
  }
  c.d_ssm = d_ssm == c.expand * c.d_model ? 0 : d_ssm;
  c.rmsnorm = file.find_tensor("blk.0.ssm_norm.weight") != nullptr;
  if (const GgufTensorInfo* d = file.find_tensor("blk.0.ssm_d")) {
    c.D_has_hdim = ggml_ne(d->shape, 0) != 1;  // ne {headdim, nheads} rather than {1, nheads}
  }

  if (const auto chunk = file.find_int(key(keys::kChunkSize))) c.chunk_size = *chunk;
  if (const auto dt_min = file.find_float(key(keys::kDtMin))) {
    c.dt_min_limit = static_cast<float>(*dt_min);
  }
  if (const auto dt_max = file.find_float(key(keys::kDtMax))) {
    c.dt_max_limit = static_cast<float>(*dt_max);
  }
  if (const auto before = file.find_bool(key(keys::kNormBeforeGate))) {
    c.norm_before_gate = *before;
  }
  c.resolve(where);
  return c;
}

// Small tensors are read by the engine as f32; the rare file that stores them otherwise gets an
// f32 copy.
TensorView small_as_f32(ModelWeights& weights, const TensorView& view) {
  if (view.dtype == DType::kF32) return view;
  const int64_t n = view.numel();
  std::vector<std::byte> bytes(static_cast<size_t>(n) * sizeof(float));
  convert_row_to_f32(view.dtype, view.data, reinterpret_cast<float*>(bytes.data()), n);
  return weights.own(DType::kF32, view.shape, std::move(bytes));
}

}  // namespace

ModelWeights load_gguf_model(const std::filesystem::path& path) {
  return load_gguf_model(GgufFile::open(path));
}

ModelWeights load_gguf_model(const GgufFile& file) {
  const std::string& where = file.where();
  const auto arch = file.find_string(keys::kArchitecture);
  if (!arch) throw Error(where, "general.architecture is missing");
  const bool mamba1 = *arch == keys::kMamba1ArchName;
  if (*arch != keys::kArchName && !mamba1) {
    throw Error(where,
                "architecture is '" + std::string(*arch) + "', expected 'mamba2' or 'mamba'");
  }
  return read_gguf_model(file, {});
}

ModelWeights read_gguf_model(const GgufFile& file,
                             const std::function<bool(std::string_view name)>& extra) {
  const std::string& where = file.where();
  const std::string arch(file.find_string(keys::kArchitecture).value_or(keys::kArchName));
  ModelWeights weights;
  weights.config =
      arch == keys::kMamba1ArchName ? read_mamba1_config(file) : read_mamba2_config(file);
  weights.storage.push_back(file.mapping());
  weights.name = std::string(file.find_string(keys::kName).value_or(""));
  if (weights.name.empty()) weights.name = std::filesystem::path(where).stem().string();
  weights.layers.resize(static_cast<size_t>(weights.config.n_layer));

  std::set<std::string> expected;
  for_each_tensor(weights, [&](TensorSlot& slot) {
    const GgufTensorInfo* info = file.find_tensor(slot.name);
    if (!slot.present) {
      if (info) throw Error(where, "tensor '" + slot.name + "' is not used by this config");
      return;
    }
    if (!info) throw Error(where, "tensor '" + slot.name + "' is missing");
    check_engine_type(info->dtype, slot.name, where);
    if (!same_ggml_shape(info->shape, slot.shape)) {
      throw Error(where, "tensor '" + slot.name + "' has shape " + info->shape.str() +
                             ", the config predicts " + slot.shape.str());
    }
    expected.insert(slot.name);
    TensorView view = file.view(*info);
    view.shape = slot.shape;  // the same numbers; the engine reads the config's rank
    *slot.view = slot.role == TensorRole::kSmall ? small_as_f32(weights, view) : view;
  });
  for (const GgufTensorInfo& info : file.tensors()) {
    if (!expected.count(info.name) && !(extra && extra(info.name))) {
      throw Error(where,
                  "tensor '" + info.name + "' is not part of a " + arch + " model of this config");
    }
  }
  check_model_weights(weights, where);
  weights.tokenizer = read_gguf_tokenizer(file, weights.config.vocab_padded);
  return weights;
}

}  // namespace mamba2
