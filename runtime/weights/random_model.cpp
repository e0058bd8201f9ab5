#include "mamba2/random_model.h"

#include <cmath>
#include <cstring>
#include <random>

#include "mamba2/error.h"
#include "quant/row_conversion.h"
#include "runtime/io/physical_memory.h"

namespace mamba2 {
namespace {

struct ReleasedSize {
  std::string_view name;
  int64_t d_model;
  int64_t n_layer;
  Architecture architecture;
  int64_t ngroups = 1;
  int64_t vocab_size = 50277;
  bool tie_embeddings = true;
};

// state-spaces/mamba2-* and (Mamba-1) state-spaces/mamba-*: every other field at its default.
constexpr ReleasedSize kReleased[] = {
    {"130m", 768, 24, Architecture::kMamba2},
    {"370m", 1024, 48, Architecture::kMamba2},
    {"780m", 1536, 48, Architecture::kMamba2},
    {"1.3b", 2048, 48, Architecture::kMamba2},
    {"2.7b", 2560, 64, Architecture::kMamba2},
    // mistralai/Mamba-Codestral-7B-v0.1's params.json: 8 groups, Mistral's v3 vocabulary, its own
    // lm_head.
    {"codestral-7b", 4096, 64, Architecture::kMamba2, 8, 32768, false},
    {"mamba-130m", 768, 24, Architecture::kMamba1},
    {"mamba-370m", 1024, 48, Architecture::kMamba1},
    {"mamba-790m", 1536, 48, Architecture::kMamba1},
    {"mamba-1.4b", 2048, 48, Architecture::kMamba1},
    {"mamba-2.8b", 2560, 64, Architecture::kMamba1},
};

std::vector<std::byte> as_bytes(const std::vector<float>& values) {
  std::vector<std::byte> bytes(values.size() * sizeof(float));
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

}  // namespace

ModelConfig released_model_config(std::string_view size) {
  for (const ReleasedSize& released : kReleased) {
    if (released.name != size) continue;
    ModelConfig config;
    config.d_model = released.d_model;
    config.n_layer = released.n_layer;
    config.architecture = released.architecture;
    if (released.architecture == Architecture::kMamba1) config.d_state = 16;
    config.ngroups = released.ngroups;
    config.tie_embeddings = released.tie_embeddings;
    config.vocab_size = released.vocab_size;
    config.pad_vocab_size_multiple = 16;
    config.resolve(std::string(size));
    return config;
  }
  throw Error("--size " + std::string(size),
              "unknown model size (130m, 370m, 780m, 1.3b, 2.7b, codestral-7b; Mamba-1: "
              "mamba-130m, mamba-370m, "
              "mamba-790m, mamba-1.4b, mamba-2.8b)");
}

ModelWeights make_random_weights(const ModelConfig& config, uint64_t seed,
                                 const QuantizationPolicy& model_policy) {
  QuantizationPolicy policy = model_policy;
  policy.tied_embeddings = config.tie_embeddings;
  ModelWeights weights;
  weights.config = config;
  weights.name = "random";
  weights.layers.resize(static_cast<size_t>(config.n_layer));
  // Refused before anything is drawn, rather than by the kernel's OOM killer half-way.
  uint64_t bytes = 0;
  for_each_tensor(weights, [&](TensorSlot& slot) {
    if (slot.present) {
      const DType type = policy.tensor_type(slot.name, slot.role, slot.shape).type;
      bytes += dtype_bytes(type, slot.shape.numel()).value_or(0);
    }
  });
  if (bytes > physical_memory_bytes()) {
    throw Error("random model", "its weights take " + std::to_string(bytes >> 20) + " MiB in " +
                                    std::string(dtype_name(policy.type)) +
                                    ", more than this machine's " +
                                    std::to_string(physical_memory_bytes() >> 20) +
                                    " MiB of memory (try a smaller type, e.g. --type q8_0)");
  }
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);

  for_each_tensor(weights, [&](TensorSlot& slot) {
    if (!slot.present) return;
    const int64_t count = slot.shape.numel();
    std::vector<float> values(static_cast<size_t>(count));
    const std::string& name = slot.name;
    auto ends_with = [&](std::string_view suffix) { return name.ends_with(suffix); };
    if (ends_with("ssm_a")) {
      for (float& v : values) v = -(1.0f + 15.0f * uniform(rng));  // -exp(log U(1, 16))
    } else if (ends_with("ssm_dt.bias")) {
      for (float& v : values) {
        const float dt = std::exp(std::log(0.001f) + uniform(rng) * std::log(100.0f));
        v = dt + std::log(-std::expm1(-dt));  // softplus^-1(dt)
      }
    } else if (ends_with("norm.weight") || ends_with("ssm_d")) {
      for (float& v : values) v = 0.5f + uniform(rng);
    } else if (ends_with(".bias")) {
      for (float& v : values) v = 0.1f * normal(rng);
    } else {
      const int64_t fan_in = slot.shape[slot.shape.rank - 1];
      const float scale =
          slot.role == TensorRole::kEmbedding ? 1.0f : 1.0f / std::sqrt(float(fan_in));
      for (float& v : values) v = scale * normal(rng);
    }
    // Converted tensor by tensor: the whole model never exists in f32 (29 GB at 7B).
    const DType type = policy.tensor_type(name, slot.role, slot.shape).type;
    *slot.view = weights.own(
        type, slot.shape, converted_tensor(DType::kF32, as_bytes(values).data(), type, slot.shape));
  });
  check_model_weights(weights, "random model");
  return weights;
}

}  // namespace mamba2
