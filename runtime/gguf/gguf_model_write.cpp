// write_gguf_model: the keys convert_hf_to_gguf.py writes for Mamba-2, then every tensor,
// converted to its target type a slab of rows at a time.
#include <algorithm>
#include <string>
#include <vector>

#include "mamba2/error.h"
#include "quant/float16.h"
#include "quant/q8_0.h"
#include "runtime/gguf/gguf_keys.h"
#include "runtime/gguf/gguf_model.h"
#include "runtime/gguf/gguf_tokenizer.h"

namespace mamba2 {
namespace {

namespace keys = gguf_keys;

// Elements converted per slab: bounds the working memory of a conversion (~4 MB of floats).
constexpr int64_t kSlabElems = int64_t{1} << 20;

uint32_t u32(const std::string& where, const char* what, int64_t value) {
  if (value < 0 || value > int64_t{0xFFFFFFFF}) {
    throw Error(where, std::string(what) + " does not fit in 32 bits");
  }
  return static_cast<uint32_t>(value);
}

void add_config(GgufWriter& out, const ModelConfig& c, const std::string& where) {
  out.add_uint32(keys::kContextLength, keys::kContextLengthValue);
  out.add_uint32(keys::kEmbeddingLength, u32(where, "d_model", c.d_model));
  out.add_uint32(keys::kFeedForwardLength, 0);  // unused; older llama.cpp wants it present
  out.add_uint32(keys::kHeadCount, 0);          // likewise
  out.add_uint32(keys::kBlockCount, u32(where, "n_layer", c.n_layer));
  out.add_uint32(keys::kVocabSize, u32(where, "vocab", c.vocab_padded));
  out.add_uint32(keys::kConvKernel, u32(where, "d_conv", c.d_conv));
  out.add_uint32(keys::kInnerSize, u32(where, "d_ssm", c.d_ssm));
  out.add_uint32(keys::kStateSize, u32(where, "d_state", c.d_state));
  out.add_uint32(keys::kTimeStepRank, u32(where, "nheads", c.nheads));
  out.add_uint32(keys::kGroupCount, u32(where, "ngroups", c.ngroups));
  out.add_float32(keys::kRmsEps, c.norm_eps);
  out.add_uint32(keys::kChunkSize, u32(where, "chunk_size", c.chunk_size));
  if (c.has_dt_limit()) {
    out.add_float32(keys::kDtMin, c.dt_min_limit);
    out.add_float32(keys::kDtMax, c.dt_max_limit);
  }
  if (c.norm_before_gate) out.add_bool(keys::kNormBeforeGate, true);
}

// Streams `view` converted to `target`, whole rows at a time (rows of a Q8_0 target are whole
// blocks, so any slab of rows quantizes independently).
GgufTensorProducer converting_producer(const TensorView& view, DType target) {
  return [view, target](const GgufByteSink& sink) {
    const int64_t numel = view.numel();
    const int64_t row =
        view.shape.rank > 0 ? std::max<int64_t>(view.shape[view.shape.rank - 1], 1) : 1;
    const int64_t slab = std::max<int64_t>(kSlabElems / row, 1) * row;
    const uint64_t in_bytes_per_slab = *dtype_bytes(view.dtype, slab);
    std::vector<float> floats(static_cast<size_t>(std::min(slab, numel)));
    std::vector<std::byte> bytes(*dtype_bytes(target, static_cast<int64_t>(floats.size())));
    for (int64_t start = 0, index = 0; start < numel; start += slab, ++index) {
      const int64_t n = std::min(slab, numel - start);
      convert_row_to_f32(view.dtype, view.data + index * in_bytes_per_slab, floats.data(), n);
      convert_row_from_f32(target, floats.data(), bytes.data(), n);
      sink({bytes.data(), *dtype_bytes(target, n)});
    }
  };
}

}  // namespace

DType gguf_tensor_type(TensorRole role, const TensorShape& shape, DType requested) {
  if (role == TensorRole::kSmall || shape.rank != 2) return DType::kF32;
  if (requested == DType::kQ8_0 && shape[1] % kQ8_0BlockElems != 0) return DType::kF16;
  return requested;
}

uint32_t llama_file_type(DType type) {
  switch (type) {
    case DType::kF32:
      return 0;  // LLAMA_FTYPE_ALL_F32
    case DType::kF16:
      return 1;  // LLAMA_FTYPE_MOSTLY_F16
    case DType::kQ8_0:
      return 7;  // LLAMA_FTYPE_MOSTLY_Q8_0
    case DType::kBF16:
      return 32;  // LLAMA_FTYPE_MOSTLY_BF16
  }
  return 0;
}

void write_gguf_model(const ModelWeights& weights, const std::filesystem::path& path,
                      const GgufWriteOptions& options) {
  const std::string where = path.string();
  // A shallow copy to enumerate and check: views and config only, no tokenizer.
  ModelWeights model;
  model.config = weights.config;
  model.embedding = weights.embedding;
  model.layers = weights.layers;
  model.norm_f = weights.norm_f;
  model.lm_head = weights.lm_head;
  check_model_weights(model, where);

  GgufWriter out;
  out.add_string(keys::kArchitecture, keys::kArchName);
  const std::string name = weights.name.empty() ? path.stem().string() : weights.name;
  out.add_string(keys::kName, name);
  add_config(out, model.config, where);
  out.add_uint32(keys::kFileType, llama_file_type(options.type));
  out.add_uint32(keys::kQuantizationVersion, keys::kQuantizationVersionValue);
  if (weights.tokenizer) {
    write_gguf_tokenizer(out, *weights.tokenizer, model.config.vocab_padded, where);
  }

  for_each_tensor(model, [&](TensorSlot& slot) {
    if (!slot.present) return;
    const TensorView& view = *slot.view;
    DType requested = options.type;
    const bool embedding_role =
        slot.role == TensorRole::kEmbedding || slot.role == TensorRole::kOutput;
    if (options.embedding_type && embedding_role) requested = *options.embedding_type;
    if (options.keep_f32 && options.keep_f32(slot.name)) requested = DType::kF32;
    const DType target = gguf_tensor_type(slot.role, view.shape, requested);
    if (view.dtype == target) {
      out.add_tensor(slot.name, view);
    } else {
      out.add_tensor(slot.name, target, view.shape, converting_producer(view, target));
    }
  });
  out.write(path, options.progress);
}

}  // namespace mamba2
