#include "runtime/engine/prepared_weights.h"

#include <optional>
#include <string>

#include "kernels/interleave.h"
#include "kernels/matmul_f32_panels.h"
#include "mamba2/error.h"
#include "quant/row_conversion.h"
#include "runtime/io/mapped_file.h"

namespace mamba2 {
namespace {

class Preparer {
 public:
  // exclusive: nothing but the model holds the bytes the weights point into (no other model,
  // loader or caller can see them), so they may be rearranged in place.
  Preparer(PreparedWeights& out, const ThreadingContext& threading, bool exclusive)
      : out_(out), threading_(threading), exclusive_(exclusive) {}

  // A small tensor's elements as f32 (widened once here if stored in another type); null for an
  // absent optional tensor.
  const float* f32(const TensorView& view, const char* what) {
    if (view.empty()) return nullptr;
    if (view.dtype == DType::kF32) return view.f32().data();
    const int64_t count = view.numel();
    if (count % dtype_info(view.dtype).block_elems != 0) {
      throw Error(std::string(what), "size is not a whole number of blocks");
    }
    std::vector<float>& buffer = out_.owned.emplace_back(static_cast<size_t>(count));
    convert_row_to_f32(view.dtype, view.data, buffer.data(), count);
    return buffer.data();
  }

  // Projections stay in place whatever their type (q8_0, q4_0 and q4_K interleaved where the CPU
  // reads that faster, bf16 in AMX tiles where the CPU has AMX): kernels::matmul reads f32, bf16
  // and the integer block types directly and dequantizes panels of the others on the fly, so no
  // weight matrix is widened here.
  Projection projection(const TensorView& weight, const TensorView& bias, const char* what) {
    Projection out{weight.dtype, weight.data, f32(bias, what), weight.shape[0], weight.shape[1]};
    check_rows(weight, what);
    // f32 in panels where our GEMM beat OpenBLAS on this shape. Not a tied lm_head: the
    // embedding looks its rows up, so panels would be a second copy (154 MiB for 130m) for a
    // projection that prefill runs for one token.
    if (weight.dtype == DType::kF32) {
      if (weight.data != embedding_rows_ &&
          kernels::f32_gemm_path(out.rows, out.cols) == kernels::F32GemmPath::kPanels) {
        out.weight = f32_panels(weight);
        out.layout = kernels::WeightLayout::kF32Panels16;
      }
      return out;
    }
    const kernels::WeightLayout layout =
        kernels::interleaved_layout(weight.dtype, out.rows, out.cols);
    if (layout == kernels::WeightLayout::kRows) return out;
    if (exclusive_ && kernels::interleaves_in_place(layout, weight.dtype, out.rows, out.cols) &&
        make_pages_writable(weight.data, weight.nbytes)) {
      rearrange_in_place(weight, layout);
      out.layout = layout;
      // A tied embedding's rows are now read back from the layout.
      if (weight.data == embedding_rows_) out_.embedding.layout = layout;
    } else if (kernels::interleaves_by_copy(layout)) {
      out.weight = interleaved(weight, layout);
      out.layout = layout;
    }
    return out;
  }

  // Rearranges a checked matrix where it is (the pages made writable), 16-row groups in
  // parallel: a private file mapping's pages become this process's own copies, in place of the
  // file's, so resident memory stays about the file's size.
  void rearrange_in_place(const TensorView& view, kernels::WeightLayout layout) {
    const int64_t rows = view.shape[0], cols = view.shape[1];
    auto* data = const_cast<std::byte*>(view.data);  // the model's own bytes, writable now
    constexpr int64_t kRowsPerTask = 64 * kernels::kInterleaveRows;
    threading_.execute([&] {
      threading_.for_tiles(rows, kRowsPerTask, [&](int64_t begin, int64_t end) {
        kernels::interleave_in_place(layout, view.dtype, data, rows, cols, begin, end);
      });
    });
  }

  // The embedding in place whatever its type: rows are converted when tokens are embedded.
  EmbeddingTable embedding(const TensorView& view, const char* what) {
    check_rows(view, what);
    embedding_rows_ = view.data;
    const int64_t cols = view.shape[1];
    return EmbeddingTable{view.dtype, view.data, view.shape[0], cols,
                          static_cast<int64_t>(*dtype_bytes(view.dtype, cols))};
  }

  // A tied lm_head reads the embedding's data.
  Projection tied_lm_head(const TensorView& embedding, const char* what) {
    return projection(embedding, TensorView{}, what);
  }

  // A 2-D tensor whose rows are whole blocks of its type and whose bytes are exactly its rows.
  static void check_rows(const TensorView& view, const char* what) {
    const auto row_bytes =
        view.shape.rank == 2 ? dtype_bytes(view.dtype, view.shape[1]) : std::nullopt;
    uint64_t total = 0;
    if (!row_bytes || view.shape[0] < 0 ||
        __builtin_mul_overflow(*row_bytes, static_cast<uint64_t>(view.shape[0]), &total) ||
        total != view.nbytes) {
      throw Error(std::string(what), "a " + std::string(dtype_name(view.dtype)) +
                                         " tensor of shape " + view.shape.str() + " cannot be " +
                                         std::to_string(view.nbytes) + " bytes");
    }
  }

  // A copy of a checked matrix in an interleaved layout.
  const std::byte* interleaved(const TensorView& view, kernels::WeightLayout layout) {
    const int64_t rows = view.shape[0], cols = view.shape[1];
    return rearranged(view, kernels::interleaved_bytes(layout, view.dtype, rows, cols),
                      kernels::kInterleaveRows, [&](int64_t begin, int64_t end, std::byte* out) {
                        kernels::interleave(layout, view.dtype, view.data, rows, cols, begin, end,
                                            out);
                      });
  }

  // A copy of a checked f32 matrix in 16-row panels.
  const std::byte* f32_panels(const TensorView& view) {
    const int64_t rows = view.shape[0], cols = view.shape[1];
    const auto* w = reinterpret_cast<const float*>(view.data);  // [rows, cols]
    return rearranged(
        view, kernels::f32_panels_floats(rows, cols) * static_cast<int64_t>(sizeof(float)),
        kernels::kF32PanelRows, [&](int64_t begin, int64_t end, std::byte* out) {
          kernels::pack_f32_panels(w, rows, cols, begin, end, reinterpret_cast<float*>(out));
        });
  }

  // `bytes` of new cache lines that fill(begin, end, out) writes for row ranges in parallel, in
  // tasks of 64 groups of `group_rows`. The stored rows are not read again, so their file pages
  // need not stay resident beside the copy (the RSS stays about the file's size); a tied
  // embedding's stay, as every token looks its row up there.
  template <class Fill>
  const std::byte* rearranged(const TensorView& view, int64_t bytes, int64_t group_rows,
                              Fill&& fill) {
    using CacheLine = PreparedWeights::CacheLine;
    const size_t lines = (static_cast<size_t>(bytes) + sizeof(CacheLine) - 1) / sizeof(CacheLine);
    std::byte* out =
        out_.owned_lines.emplace_back(std::make_unique_for_overwrite<CacheLine[]>(lines))[0].bytes;
    populate_pages(out, bytes);
    threading_.execute([&] {
      threading_.for_tiles(view.shape[0], 64 * group_rows,
                           [&](int64_t begin, int64_t end) { fill(begin, end, out); });
    });
    if (view.data != embedding_rows_) release_resident_pages(view.data, view.nbytes);
    return out;
  }

  // [C, K] checkpoint layout -> [K, C], so the conv kernel vectorises over channels.
  const float* transposed(const TensorView& view, const char* what) {
    const float* source = f32(view, what);
    const int64_t channels = view.shape[0];
    const int64_t taps = view.shape[1];
    std::vector<float>& buffer = out_.owned.emplace_back(static_cast<size_t>(channels * taps));
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t k = 0; k < taps; ++k) buffer[k * channels + c] = source[c * taps + k];
    }
    return buffer.data();
  }

 private:
  PreparedWeights& out_;
  const ThreadingContext& threading_;
  const bool exclusive_;
  const std::byte* embedding_rows_ = nullptr;
};

}  // namespace

std::unique_ptr<PreparedWeights> PreparedWeights::prepare(const ModelWeights& weights,
                                                          const Model::PrepareProgress& progress,
                                                          const ThreadingContext& threading) {
  auto prepared = std::make_unique<PreparedWeights>();
  bool exclusive = true;
  for (const auto& storage : weights.storage) exclusive = exclusive && storage.use_count() == 1;
  Preparer preparer(*prepared, threading, exclusive);
  prepared->embedding = preparer.embedding(weights.embedding, "token_embd.weight");
  for (const LayerWeights& layer : weights.layers) {
    PreparedLayer& out = prepared->layers.emplace_back();
    out.norm = preparer.f32(layer.norm, "attn_norm");
    out.in_proj = preparer.projection(layer.in_proj, layer.in_proj_bias, "ssm_in");
    out.conv = preparer.transposed(layer.conv1d, "ssm_conv1d");
    out.conv_bias = preparer.f32(layer.conv1d_bias, "ssm_conv1d.bias");
    if (!layer.x_proj.empty()) out.x_proj = preparer.projection(layer.x_proj, {}, "ssm_x");
    if (!layer.dt_proj.empty()) out.dt_proj = preparer.projection(layer.dt_proj, {}, "ssm_dt");
    out.dt_bias = preparer.f32(layer.dt_bias, "ssm_dt.bias");
    out.A = preparer.f32(layer.A, "ssm_a");
    out.D = preparer.f32(layer.D, "ssm_d");
    out.gated_norm = preparer.f32(layer.gated_norm, "ssm_norm");
    out.out_proj = preparer.projection(layer.out_proj, layer.out_proj_bias, "ssm_out");
    if (progress) {
      progress(static_cast<int64_t>(prepared->layers.size()),
               static_cast<int64_t>(weights.layers.size()));
    }
  }
  prepared->norm_f = preparer.f32(weights.norm_f, "output_norm");
  const bool tied = weights.lm_head.data == weights.embedding.data;
  prepared->lm_head = tied ? preparer.tied_lm_head(weights.embedding, "token_embd.weight")
                           : preparer.projection(weights.lm_head, TensorView{}, "output");
  return prepared;
}

}  // namespace mamba2
