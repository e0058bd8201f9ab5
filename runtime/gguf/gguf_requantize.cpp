// requantize_gguf: llama-quantize's rewrite of a GGUF model (src/llama-quant.cpp,
// llama_model_quantize_impl), with the per-tensor types of QuantizationPolicy.
#include <algorithm>
#include <cctype>
#include <climits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mamba2/error.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/gguf_keys.h"
#include "runtime/gguf/gguf_model.h"
#include "runtime/gguf/gguf_writer.h"

namespace mamba2 {
namespace {

namespace keys = gguf_keys;

// Keys llama-quantize sets itself (at the end) or removes (a split file's).
bool rewritten_key(std::string_view key) {
  return key == keys::kFileType || key == keys::kQuantizationVersion || key == "split.no" ||
         key == "split.count" || key == "split.tensors.count" ||
         key == "general.alignment";  // the output is always aligned to 32, as llama-quantize's
}

// The block of "blk.N.name" (sscanf "blk.%d." as llama_model_loader's weight_name_comparer
// reads it), or -1 for a tensor outside the blocks.
int64_t block_of(std::string_view name) {
  constexpr std::string_view kPrefix = "blk.";
  if (!name.starts_with(kPrefix)) return -1;
  size_t i = kPrefix.size();
  const bool negative = i < name.size() && name[i] == '-';
  if (i < name.size() && (name[i] == '-' || name[i] == '+')) ++i;
  if (i >= name.size() || !std::isdigit(static_cast<unsigned char>(name[i]))) return -1;
  int64_t block = 0;
  for (; i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])); ++i) {
    block = std::min<int64_t>(block * 10 + (name[i] - '0'), INT_MAX);
  }
  return negative ? -block : block;
}

// ggml's shape of a tensor: trailing ne of 1 dropped (ggml_n_dims), i.e. leading 1s of ours.
TensorShape ggml_shape(const TensorShape& shape) {
  int skip = 0;
  while (shape.rank - skip > 1 && shape[skip] == 1) ++skip;
  if (skip == 0) return shape;
  TensorShape squeezed;
  squeezed.rank = shape.rank - skip;
  for (int d = 0; d < squeezed.rank; ++d) squeezed.dims[d] = shape[skip + d];
  return squeezed;
}

}  // namespace

void requantize_gguf(const std::filesystem::path& input, const std::filesystem::path& output,
                     const GgufWriteOptions& options) {
  const GgufFile file = GgufFile::open(input);
  // Refuses anything but a mamba2 or mamba model whose tensors we read; names each tensor's role.
  ModelWeights weights = load_gguf_model(file);
  std::unordered_map<std::string, TensorRole> roles;
  for_each_tensor(weights, [&](const TensorSlot& slot) { roles.emplace(slot.name, slot.role); });

  QuantizationPolicy policy = options.quantization;
  // llama-quantize's test: the embedding is the output unless the file has output.weight.
  policy.tied_embeddings = file.find_tensor("output.weight") == nullptr;
  check_writable_types(policy, output.string());
  const ThreadingContext threading = options.threading.value_or(ThreadingContext(1));

  GgufWriter out;
  for (const auto& [key, value] : file.metadata()) {
    if (!rewritten_key(key)) out.add_value(key, value);
  }
  out.add_uint32(keys::kQuantizationVersion, keys::kQuantizationVersionValue);
  out.add_uint32(keys::kFileType, policy.llama_file_type());

  std::vector<const GgufTensorInfo*> tensors;
  for (const GgufTensorInfo& info : file.tensors()) tensors.push_back(&info);
  std::stable_sort(tensors.begin(), tensors.end(),
                   [](const GgufTensorInfo* a, const GgufTensorInfo* b) {
                     const int64_t block_a = block_of(a->name), block_b = block_of(b->name);
                     if (block_a != block_b) return block_a < block_b;
                     return a->name < b->name;
                   });
  for (const GgufTensorInfo* info : tensors) {
    TensorView view = file.view(*info);
    view.shape = ggml_shape(view.shape);
    const auto role = roles.find(info->name);
    const bool small = role == roles.end() || role->second == TensorRole::kSmall;
    // Small tensors keep their type, as llama-quantize never converts them.
    const DType target =
        small ? view.dtype : policy.tensor_type(info->name, role->second, view.shape).type;
    if (target == view.dtype) {
      out.add_tensor(info->name, view);
    } else {
      out.add_tensor(info->name, target, view.shape, converting_producer(view, target, threading));
    }
  }
  out.write(output, options.progress);
}

}  // namespace mamba2
