// write_gguf_model: the keys convert_hf_to_gguf.py writes for Mamba-2 (mamba2) or Mamba-1 (mamba),
// then every tensor, converted to its target type a slab of rows at a time.
#include <algorithm>
#include <string>
#include <vector>

#include "mamba2/dtype_names.h"
#include "mamba2/error.h"
#include "quant/row_conversion.h"
#include "runtime/gguf/gguf_keys.h"
#include "runtime/gguf/gguf_model.h"
#include "runtime/gguf/gguf_tokenizer.h"

namespace mamba2 {
namespace {

namespace keys = gguf_keys;

// Elements converted per slab: bounds the working memory of a conversion (~4 MB of floats).
constexpr int64_t kSlabElems = int64_t{1} << 20;
// Elements per tile of a slab's rows spread over the threads: 64 tiles of a full slab, each a few
// milliseconds of K-quant search, so scheduling costs little and 2-8 threads stay balanced.
constexpr int64_t kTileElems = int64_t{1} << 14;

uint32_t u32(const std::string& where, const char* what, int64_t value) {
  if (value < 0 || value > int64_t{0xFFFFFFFF}) {
    throw Error(where, std::string(what) + " does not fit in 32 bits");
  }
  return static_cast<uint32_t>(value);
}

// The keys convert_hf_to_gguf.py writes, in its order: mamba2's, or mamba's for Mamba-1 (no
// vocab_size or group_count; inner_size is d_inner and time_step_rank dt_rank rather than nheads).
void add_config(GgufWriter& out, const ModelConfig& c, const std::string& where) {
  const bool mamba1 = c.architecture == Architecture::kMamba1;
  const keys::ArchKeys key(mamba1 ? keys::kMamba1ArchName : keys::kArchName);
  out.add_uint32(key(keys::kContextLength), keys::kContextLengthValue);
  out.add_uint32(key(keys::kEmbeddingLength), u32(where, "d_model", c.d_model));
  out.add_uint32(key(keys::kFeedForwardLength), 0);  // unused; older llama.cpp wants it present
  out.add_uint32(key(keys::kHeadCount), 0);          // likewise
  out.add_uint32(key(keys::kBlockCount), u32(where, "n_layer", c.n_layer));
  if (!mamba1) out.add_uint32(key(keys::kVocabSize), u32(where, "vocab", c.vocab_padded));
  out.add_uint32(key(keys::kConvKernel), u32(where, "d_conv", c.d_conv));
  out.add_uint32(key(keys::kInnerSize), u32(where, "d_ssm", c.d_ssm));  // = d_inner for Mamba-1
  out.add_uint32(key(keys::kStateSize), u32(where, "d_state", c.d_state));
  out.add_uint32(key(keys::kTimeStepRank),
                 mamba1 ? u32(where, "dt_rank", c.dt_rank) : u32(where, "nheads", c.nheads));
  if (!mamba1) out.add_uint32(key(keys::kGroupCount), u32(where, "ngroups", c.ngroups));
  out.add_float32(key(keys::kRmsEps), c.norm_eps);
  if (mamba1) {
    out.add_bool(key(keys::kDtBCRms), c.dt_b_c_rms);
    // llama.cpp normalises with the block norms' eps; ours keeps a transformers model's own.
    if (c.dt_b_c_rms && c.dt_b_c_rms_eps != c.norm_eps) {
      out.add_float32(key(keys::kDtBCRmsEps), c.dt_b_c_rms_eps);
    }
    return;
  }
  out.add_uint32(key(keys::kChunkSize), u32(where, "chunk_size", c.chunk_size));
  if (c.has_dt_limit()) {
    out.add_float32(key(keys::kDtMin), c.dt_min_limit);
    out.add_float32(key(keys::kDtMax), c.dt_max_limit);
  }
  if (c.norm_before_gate) out.add_bool(key(keys::kNormBeforeGate), true);
}

}  // namespace

// Rows of a block type are whole blocks, so any slab of rows converts independently.
GgufTensorProducer converting_producer(const TensorView& view, DType target,
                                       const ThreadingContext& threading) {
  return [view, target, threading](const GgufByteSink& sink) {
    const int64_t row =
        view.shape.rank > 0 ? std::max<int64_t>(view.shape[view.shape.rank - 1], 1) : 1;
    const int64_t rows = view.numel() / row;
    const int64_t slab_rows = std::clamp<int64_t>(kSlabElems / row, 1, std::max<int64_t>(rows, 1));
    const uint64_t in_row = *dtype_bytes(view.dtype, row), out_row = *dtype_bytes(target, row);
    std::vector<std::byte> bytes(out_row * slab_rows);
    for (int64_t r = 0; r < rows; r += slab_rows) {
      const int64_t n = std::min(slab_rows, rows - r);
      const int64_t tile_rows = std::max<int64_t>(kTileElems / row, 1);
      threading.execute([&] {
        threading.for_tiles(n, tile_rows, [&](int64_t begin, int64_t end) {
          convert_rows(view.dtype, view.data + (r + begin) * in_row, target,
                       bytes.data() + begin * out_row, end - begin, row);
        });
      });
      sink({bytes.data(), out_row * n});
    }
  };
}

void check_writable_types(const QuantizationPolicy& policy, const std::string& where) {
  for (const DType type : {policy.type, policy.embedding_type.value_or(policy.type)}) {
    if (!engine_computes_with(type)) {
      throw Error(where, "cannot write " + std::string(dtype_name(type)) + " weights (" +
                             dtype_names() + ")");
    }
  }
}

void write_gguf_model(const ModelWeights& weights, const std::filesystem::path& path,
                      const GgufWriteOptions& options) {
  const bool mamba1 = weights.config.architecture == Architecture::kMamba1;
  gguf_model_writer(weights, path, options, mamba1 ? keys::kMamba1ArchName : keys::kArchName)
      .write(path, options.progress);
}

GgufWriter gguf_model_writer(const ModelWeights& weights, const std::filesystem::path& path,
                             const GgufWriteOptions& options, std::string_view architecture) {
  const std::string where = path.string();
  QuantizationPolicy policy = options.quantization;
  policy.tied_embeddings = weights.config.tie_embeddings;
  check_writable_types(policy, where);
  const ThreadingContext threading = options.threading.value_or(ThreadingContext(1));
  // A shallow copy to enumerate and check: views and config only, no tokenizer.
  ModelWeights model;
  model.config = weights.config;
  model.embedding = weights.embedding;
  model.layers = weights.layers;
  model.norm_f = weights.norm_f;
  model.lm_head = weights.lm_head;
  check_model_weights(model, where);

  GgufWriter out;
  out.add_string(keys::kArchitecture, architecture);
  const std::string name = weights.name.empty() ? path.stem().string() : weights.name;
  out.add_string(keys::kName, name);
  add_config(out, model.config, where);
  out.add_uint32(keys::kFileType, policy.llama_file_type());
  out.add_uint32(keys::kQuantizationVersion, keys::kQuantizationVersionValue);
  if (weights.tokenizer) {
    write_gguf_tokenizer(out, *weights.tokenizer, model.config.vocab_padded, where);
  } else {
    out.add_string(keys::kTokenizerModel, keys::kNoVocab);
  }

  for_each_tensor(model, [&](TensorSlot& slot) {
    if (!slot.present) return;
    const TensorView& view = *slot.view;
    const DType target = policy.tensor_type(slot.name, slot.role, view.shape).type;
    if (view.dtype == target) {
      out.add_tensor(slot.name, view);
    } else {
      out.add_tensor(slot.name, target, view.shape, converting_producer(view, target, threading));
    }
  });
  return out;
}

}  // namespace mamba2
