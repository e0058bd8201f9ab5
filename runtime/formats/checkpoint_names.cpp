#include "runtime/formats/checkpoint_names.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>

#include "mamba2/error.h"
#include "quant/row_conversion.h"

namespace mamba2 {
namespace {

// How a checkpoint tensor becomes its GGUF-form slot.
enum class Conversion {
  kNone,     // same shape, same bytes
  kConv,     // conv1d.weight [C, 1, K] -> [C, K]
  kFlatten,  // stored flat: D [H] -> [H, 1] (or [H * P] -> [H, P]), norm [d_ssm] -> [G, d_ssm / G]
  kNegExp,   // A_log -> A = -exp(A_log) in f32: Mamba-2 [H] -> [H, 1], Mamba-1 [D, N] as is
};

struct NamePair {
  std::string_view checkpoint;
  std::string_view gguf;
  Conversion conversion;
};

// The first spelling of each GGUF name is the one error messages use.
constexpr NamePair kModelNames[] = {
    {"backbone.embedding.weight", "token_embd.weight", Conversion::kNone},   // state-spaces
    {"backbone.embeddings.weight", "token_embd.weight", Conversion::kNone},  // transformers
    {"backbone.norm_f.weight", "output_norm.weight", Conversion::kNone},
    {"lm_head.weight", "output.weight", Conversion::kNone},
};

// Under "backbone.layers.{l}." and "blk.{l}.".
constexpr NamePair kLayerNames[] = {
    {"norm.weight", "attn_norm.weight", Conversion::kNone},
    {"mixer.in_proj.weight", "ssm_in.weight", Conversion::kNone},
    {"mixer.in_proj.bias", "ssm_in.bias", Conversion::kNone},
    {"mixer.conv1d.weight", "ssm_conv1d.weight", Conversion::kConv},
    {"mixer.conv1d.bias", "ssm_conv1d.bias", Conversion::kNone},
    {"mixer.dt_bias", "ssm_dt.bias", Conversion::kNone},
    {"mixer.x_proj.weight", "ssm_x.weight", Conversion::kNone},    // Mamba-1
    {"mixer.dt_proj.weight", "ssm_dt.weight", Conversion::kNone},  // Mamba-1
    {"mixer.dt_proj.bias", "ssm_dt.bias", Conversion::kNone},      // Mamba-1
    {"mixer.A_log", "ssm_a", Conversion::kNegExp},
    {"mixer.D", "ssm_d", Conversion::kFlatten},
    {"mixer.norm.weight", "ssm_norm.weight", Conversion::kFlatten},
    {"mixer.out_proj.weight", "ssm_out.weight", Conversion::kNone},
    {"mixer.out_proj.bias", "ssm_out.bias", Conversion::kNone},
};

constexpr std::string_view kLayerPrefix = "backbone.layers.";

struct MappedName {
  std::string gguf;
  Conversion conversion;
};

// A decimal layer number without sign or leading zeros.
std::optional<int64_t> parse_layer(std::string_view digits) {
  if (digits.empty() || digits.size() > 9 || (digits.size() > 1 && digits[0] == '0') ||
      digits.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

std::optional<MappedName> map_name(std::string_view name) {
  for (const auto& pair : kModelNames) {
    if (name == pair.checkpoint) return MappedName{std::string(pair.gguf), pair.conversion};
  }
  if (!name.starts_with(kLayerPrefix)) return std::nullopt;
  const std::string_view rest = name.substr(kLayerPrefix.size());
  const size_t dot = rest.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const auto layer = parse_layer(rest.substr(0, dot));
  if (!layer) return std::nullopt;
  const std::string_view suffix = rest.substr(dot + 1);
  for (const auto& pair : kLayerNames) {
    if (suffix == pair.checkpoint) {
      return MappedName{"blk." + std::to_string(*layer) + "." + std::string(pair.gguf),
                        pair.conversion};
    }
  }
  return std::nullopt;
}

// The state-spaces name of a GGUF slot, for messages about missing tensors.
std::string checkpoint_name_of(const std::string& gguf) {
  for (const auto& pair : kModelNames) {
    if (gguf == pair.gguf) return std::string(pair.checkpoint);
  }
  const size_t dot = gguf.find('.', 4);
  if (gguf.starts_with("blk.") && dot != std::string::npos) {
    const std::string suffix = gguf.substr(dot + 1);
    for (const auto& pair : kLayerNames) {
      if (suffix == pair.gguf) {
        return std::string(kLayerPrefix) + gguf.substr(4, dot - 4) + "." +
               std::string(pair.checkpoint);
      }
    }
  }
  return gguf;
}

// The shape the checkpoint stores a slot's tensor in.
std::vector<int64_t> stored_shape(const TensorShape& slot, Conversion conversion) {
  switch (conversion) {
    case Conversion::kConv:
      return {slot[0], 1, slot[1]};  // [conv_dim, 1, d_conv]
    case Conversion::kFlatten:
      return {slot.numel()};
    case Conversion::kNegExp:
      if (slot.rank == 2 && slot[1] == 1) return {slot[0]};  // Mamba-2's A_log [nheads]
      break;
    case Conversion::kNone:
      break;
  }
  return {slot.dims.begin(), slot.dims.begin() + slot.rank};
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

// A = -exp(A_log), computed in f32 whatever A_log's type, as the reference computes it.
TensorView negative_exp(ModelWeights& weights, const CheckpointTensor& a_log,
                        const TensorShape& shape) {
  const auto n = static_cast<int64_t>(shape.numel());
  std::vector<float> values(static_cast<size_t>(n));
  convert_row_to_f32(a_log.dtype, a_log.bytes.data(), values.data(), n);
  std::vector<std::byte> bytes(values.size() * sizeof(float));
  for (size_t i = 0; i < values.size(); ++i) {
    const float a = -std::exp(values[i]);
    std::memcpy(bytes.data() + i * sizeof(float), &a, sizeof a);
  }
  return weights.own(DType::kF32, shape, std::move(bytes));  // [nheads, 1] or [d_inner, d_state]
}

// A view of the checkpoint's bytes in the slot's shape. Bytes that are not aligned to their
// element size (a safetensors header may leave them so) are copied, so f32() spans stay valid.
TensorView view_of(ModelWeights& weights, const CheckpointTensor& tensor,
                   const TensorShape& shape) {
  const size_t element = static_cast<size_t>(dtype_info(tensor.dtype).block_bytes);
  if (reinterpret_cast<uintptr_t>(tensor.bytes.data()) % element != 0) {
    return weights.own(tensor.dtype, shape,
                       std::vector<std::byte>(tensor.bytes.begin(), tensor.bytes.end()));
  }
  return TensorView{tensor.dtype, shape, tensor.bytes.data(), tensor.bytes.size()};
}

bool same_bytes(const TensorView& a, const TensorView& b) {
  return a.dtype == b.dtype && a.nbytes == b.nbytes &&
         (a.data == b.data || std::memcmp(a.data, b.data, a.nbytes) == 0);
}

}  // namespace

std::optional<std::string> gguf_name_of_checkpoint_tensor(std::string_view checkpoint_name) {
  auto mapped = map_name(checkpoint_name);
  if (!mapped) return std::nullopt;
  return std::move(mapped->gguf);
}

void assign_checkpoint_tensors(ModelWeights& weights, CheckpointTensors tensors,
                               const std::string& where) {
  const ModelConfig& config = weights.config;
  weights.layers.assign(static_cast<size_t>(config.n_layer), LayerWeights{});
  std::map<std::string, TensorSlot> slots;
  for_each_tensor(weights, [&](TensorSlot& slot) { slots.emplace(slot.name, slot); });

  std::map<std::string, std::string> assigned;  // GGUF name -> checkpoint name
  std::optional<TensorView> tied_lm_head;
  for (const CheckpointTensor& tensor : tensors.tensors) {
    const auto mapped = map_name(tensor.name);
    const auto fail = [&](const std::string& why) {
      return Error(where, "tensor '" + tensor.name + "' " + why);
    };
    if (!mapped) throw fail("is not a Mamba-2 weight");
    auto slot_it = slots.find(mapped->gguf);
    const bool tied_output = mapped->gguf == "output.weight" && config.tie_embeddings;
    if (tied_output) slot_it = slots.find("token_embd.weight");  // same shape as the embedding
    if (slot_it == slots.end()) {
      throw fail("is for a layer this config does not have (n_layer = " +
                 std::to_string(config.n_layer) + ")");
    }
    const TensorSlot& slot = slot_it->second;
    if (!slot.present && !tied_output) throw fail("is not used by this config");
    const auto expected = stored_shape(slot.shape, mapped->conversion);
    if (tensor.shape != expected) {
      throw fail("has shape " + shape_str(tensor.shape) + ", the config predicts " +
                 shape_str(expected));
    }
    const auto [previous, inserted] = assigned.emplace(mapped->gguf, tensor.name);
    if (!inserted) throw fail("appears twice (also as '" + previous->second + "')");

    if (tied_output) {
      tied_lm_head = view_of(weights, tensor, slot.shape);
    } else if (mapped->conversion == Conversion::kNegExp) {
      *slot.view = negative_exp(weights, tensor, slot.shape);
    } else {
      *slot.view = view_of(weights, tensor, slot.shape);
    }
  }

  if (tied_lm_head) {
    if (weights.embedding.empty() || !same_bytes(weights.embedding, *tied_lm_head)) {
      weights.embedding = *tied_lm_head;
    }
  }
  for (const auto& [name, slot] : slots) {
    if (!slot.present || !slot.view->empty()) continue;
    throw Error(where, "tensor '" + checkpoint_name_of(name) + "' is missing");
  }
  for (auto& keep : tensors.storage) weights.storage.push_back(std::move(keep));
}

}  // namespace mamba2
