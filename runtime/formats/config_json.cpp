#include "runtime/formats/config_json.h"

#include <cctype>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "mamba2/error.h"

namespace mamba2 {
namespace {

using json = nlohmann::json;

// Python's json module writes float('inf') as the bare token `Infinity` (transformers configs
// hold `"time_step_limit": [0.0, Infinity]`), which strict JSON parsers reject. Outside strings,
// the tokens Infinity, -Infinity and NaN become the strings "Infinity", "-Infinity" and "NaN",
// which number fields then accept.
std::string quote_nonfinite_tokens(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) {
        out += text[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      out += c;
      continue;
    }
    bool replaced = false;
    for (std::string_view token : {"-Infinity", "Infinity", "NaN"}) {
      if (text.substr(i, token.size()) != token) continue;
      const size_t end = i + token.size();
      const bool bounded =
          end == text.size() || !std::isalnum(static_cast<unsigned char>(text[end]));
      const bool starts = i == 0 || !std::isalnum(static_cast<unsigned char>(text[i - 1]));
      if (!bounded || !starts) continue;
      out += '"';
      out += token;
      out += '"';
      i = end - 1;
      replaced = true;
      break;
    }
    if (!replaced) out += c;
  }
  return out;
}

// Typed access to the fields of one JSON object; a missing or null field takes the default.
// Errors name the field with its path ("ssm_cfg.d_state").
class Fields {
 public:
  Fields(const json& object, std::string where, std::string prefix)
      : object_(object), where_(std::move(where)), prefix_(std::move(prefix)) {}

  bool has(const char* key) const {
    const auto it = object_.find(key);
    return it != object_.end() && !it->is_null();
  }

  int64_t integer(const char* key, int64_t fallback) const {
    if (!has(key)) return fallback;
    const json& value = object_.at(key);
    if (value.is_number_unsigned()) {
      const auto u = value.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) fail(key, "is too large");
      return static_cast<int64_t>(u);
    }
    if (value.is_number_integer()) return value.get<int64_t>();
    fail(key, "must be an integer, got " + value.dump());
  }

  bool boolean(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    const json& value = object_.at(key);
    if (!value.is_boolean()) fail(key, "must be true or false, got " + value.dump());
    return value.get<bool>();
  }

  double number(const json& value, const std::string& name) const {
    if (value.is_number()) return value.get<double>();
    if (value.is_string()) {
      const auto& s = value.get_ref<const std::string&>();
      if (s == "Infinity") return std::numeric_limits<double>::infinity();
      if (s == "-Infinity") return -std::numeric_limits<double>::infinity();
      if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
    }
    fail(name.c_str(), "must be a number, got " + value.dump());
  }

  double number(const char* key, double fallback) const {
    return has(key) ? number(object_.at(key), key) : fallback;
  }

  std::string string(const char* key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    const json& value = object_.at(key);
    if (!value.is_string()) fail(key, "must be a string, got " + value.dump());
    return value.get<std::string>();
  }

  // Mamba-1's dt_rank / time_step_rank: "auto" (0, resolved to ceil(d_model / 16)) or a number.
  int64_t dt_rank(const char* key) const {
    if (has(key) && object_.at(key).is_string()) {
      if (object_.at(key).get_ref<const std::string&>() != "auto") {
        fail(key, "must be \"auto\" or an integer, got " + object_.at(key).dump());
      }
      return 0;
    }
    const int64_t value = integer(key, 0);
    if (has(key) && value <= 0) fail(key, "must be positive");
    return value;
  }

  // A [lo, hi] pair such as dt_limit / time_step_limit.
  void range(const char* key, float& lo, float& hi) const {
    if (!has(key)) return;
    const json& value = object_.at(key);
    if (!value.is_array() || value.size() != 2) {
      fail(key, "must be a list [min, max], got " + value.dump());
    }
    lo = static_cast<float>(number(value[0], std::string(key) + "[0]"));
    hi = static_cast<float>(number(value[1], std::string(key) + "[1]"));
  }

  const json& object(const char* key) const {
    static const json empty = json::object();
    if (!has(key)) return empty;
    const json& value = object_.at(key);
    if (!value.is_object()) fail(key, "must be an object, got " + value.dump());
    return value;
  }

  size_t list_size(const char* key) const {
    if (!has(key)) return 0;
    const json& value = object_.at(key);
    if (!value.is_array()) fail(key, "must be a list, got " + value.dump());
    return value.size();
  }

  [[noreturn]] void fail(const char* key, const std::string& why) const {
    throw Error(where_, prefix_ + key + " " + why);
  }

  const json& raw() const { return object_; }

 private:
  const json& object_;
  std::string where_;
  std::string prefix_;
};

// The Mamba2 constructor's arguments, from ssm_cfg. Unknown keys are rejected: the constructor
// would reject them too, and silently ignoring one could change the numerics.
void read_mamba2_cfg(const Fields& ssm, ModelConfig& c) {
  static const std::set<std::string> kKnown = {
      "layer", "d_state", "d_conv", "expand", "headdim", "ngroups", "chunk_size", "d_ssm",
      "rmsnorm", "norm_before_gate", "D_has_hdim", "dt_limit", "bias", "conv_bias",
      // Initialisation and training only.
      "dt_min", "dt_max", "dt_init_floor", "A_init_range", "conv_init", "use_mem_eff_path",
      "layer_idx", "process_group", "sequence_parallel"};
  for (const auto& [key, value] : ssm.raw().items()) {
    if (!kKnown.contains(key)) ssm.fail(key.c_str(), "is not a Mamba2 argument");
  }
  c.d_state = ssm.integer("d_state", c.d_state);
  c.d_conv = ssm.integer("d_conv", c.d_conv);
  c.expand = ssm.integer("expand", c.expand);
  c.headdim = ssm.integer("headdim", c.headdim);
  c.ngroups = ssm.integer("ngroups", c.ngroups);
  c.chunk_size = ssm.integer("chunk_size", c.chunk_size);
  c.d_ssm = ssm.integer("d_ssm", 0);
  if (ssm.has("d_ssm") && c.d_ssm <= 0) ssm.fail("d_ssm", "must be positive");
  c.rmsnorm = ssm.boolean("rmsnorm", c.rmsnorm);
  c.norm_before_gate = ssm.boolean("norm_before_gate", c.norm_before_gate);
  c.D_has_hdim = ssm.boolean("D_has_hdim", c.D_has_hdim);
  ssm.range("dt_limit", c.dt_min_limit, c.dt_max_limit);
  c.proj_bias = ssm.boolean("bias", c.proj_bias);
  c.conv_bias = ssm.boolean("conv_bias", c.conv_bias);
}

// The Mamba-1 `Mamba` constructor's arguments (mamba_simple.py), from ssm_cfg; unknown keys are
// rejected as for Mamba2.
void read_mamba1_cfg(const Fields& ssm, ModelConfig& c) {
  static const std::set<std::string> kKnown = {
      "layer", "d_state", "d_conv", "expand", "dt_rank", "bias", "conv_bias",
      // Initialisation and training only.
      "dt_min", "dt_max", "dt_init", "dt_scale", "dt_init_floor", "use_fast_path", "layer_idx"};
  for (const auto& [key, value] : ssm.raw().items()) {
    if (!kKnown.contains(key)) ssm.fail(key.c_str(), "is not a Mamba (Mamba-1) argument");
  }
  c.architecture = Architecture::kMamba1;
  c.d_state = ssm.integer("d_state", 16);
  c.d_conv = ssm.integer("d_conv", c.d_conv);
  c.expand = ssm.integer("expand", c.expand);
  c.dt_rank = ssm.dt_rank("dt_rank");
  c.proj_bias = ssm.boolean("bias", c.proj_bias);
  c.conv_bias = ssm.boolean("conv_bias", c.conv_bias);
}

// ssm_cfg's `layer` names the mixer: absent (the released Mamba-1 checkpoints' `{}`) or "Mamba1"
// is Mamba-1, "Mamba2" Mamba-2.
void read_ssm_cfg(const Fields& ssm, ModelConfig& c) {
  const std::string layer = ssm.string("layer", "Mamba1");
  if (layer == "Mamba2") {
    read_mamba2_cfg(ssm, c);
  } else if (layer == "Mamba1") {
    read_mamba1_cfg(ssm, c);
  } else {
    ssm.fail("layer", "is \"" + layer + "\"; this runtime runs Mamba1 and Mamba2 layers");
  }
}

// state-spaces/mamba2-*: MambaConfig with the mixer's arguments in ssm_cfg.
ModelConfig read_state_spaces(const Fields& top, const std::string& where) {
  ModelConfig c;
  c.d_model = top.integer("d_model", 2560);
  c.n_layer = top.integer("n_layer", 64);
  c.vocab_size = top.integer("vocab_size", 50277);
  c.pad_vocab_size_multiple = top.integer("pad_vocab_size_multiple", 8);
  c.tie_embeddings = top.boolean("tie_embeddings", true);
  if (const int64_t d_mlp = top.integer("d_intermediate", 0); d_mlp != 0) {
    top.fail("d_intermediate",
             "is " + std::to_string(d_mlp) + "; MLP blocks between the mixers are not supported");
  }
  if (top.list_size("attn_layer_idx") != 0) {
    top.fail("attn_layer_idx", "is not empty; attention layers are not supported");
  }
  if (!top.boolean("rms_norm", true)) {
    top.fail("rms_norm", "is false; LayerNorm blocks are not supported");
  }
  read_ssm_cfg(Fields(top.object("ssm_cfg"), where, "ssm_cfg."), c);
  return c;
}

// What transformers' MambaConfig and Mamba2Config name alike; the defaults are the
// constructor's, which differ (Mamba2Config has Mamba-Codestral's sizes).
struct TransformersDefaults {
  int64_t hidden_size, num_hidden_layers, vocab_size, state_size;
  bool tie_word_embeddings;
};

ModelConfig read_transformers_common(const Fields& top, const TransformersDefaults& defaults) {
  ModelConfig c;
  c.d_model = top.integer("hidden_size", defaults.hidden_size);
  c.n_layer = top.integer("num_hidden_layers", defaults.num_hidden_layers);
  c.vocab_size = top.integer("vocab_size", defaults.vocab_size);
  // transformers checkpoints store the padded vocabulary as vocab_size.
  c.pad_vocab_size_multiple = top.integer("pad_vocab_size_multiple", 1);
  c.tie_embeddings = top.boolean("tie_word_embeddings", defaults.tie_word_embeddings);
  c.d_state = top.integer("state_size", defaults.state_size);
  c.expand = top.integer("expand", 2);
  c.d_conv = top.integer("conv_kernel", 4);
  c.proj_bias = top.boolean("use_bias", false);
  c.conv_bias = top.boolean("use_conv_bias", true);
  c.norm_eps = static_cast<float>(top.number("layer_norm_epsilon", 1e-5));
  return c;
}

// transformers MambaConfig (model_type "mamba"), or FalconMambaConfig ("falcon_mamba"): the same
// with dt, B and C RMS-normalised by mixer_rms_eps.
ModelConfig read_transformers_mamba1(const Fields& top, bool falcon) {
  ModelConfig c = read_transformers_common(top, {768, 32, 50280, 16, true});
  c.architecture = Architecture::kMamba1;
  if (falcon) {
    c.dt_b_c_rms = true;
    c.dt_b_c_rms_eps = static_cast<float>(top.number("mixer_rms_eps", 1e-6));
  }
  c.dt_rank = top.dt_rank("time_step_rank");
  // intermediate_size is expand * hidden_size in every MambaMixer; one that is not cannot load.
  const int64_t d_inner = top.integer("intermediate_size", 0);
  const bool sized = c.d_model > 0 && c.expand > 0 && c.d_model <= (int64_t{1} << 20) &&
                     c.expand <= (int64_t{1} << 20);
  if (top.has("intermediate_size") && sized && d_inner != c.expand * c.d_model) {
    top.fail("intermediate_size", "(" + std::to_string(d_inner) +
                                      ") must equal expand * hidden_size (" +
                                      std::to_string(c.expand * c.d_model) + ")");
  }
  return c;
}

// transformers Mamba2Config; the defaults are its constructor's (Mamba-Codestral's sizes).
ModelConfig read_transformers(const Fields& top) {
  const std::string type = top.string("model_type", "mamba2");
  if (type == "mamba" || type == "falcon_mamba") {
    return read_transformers_mamba1(top, type == "falcon_mamba");
  }
  if (type != "mamba2") {
    top.fail("model_type", "is \"" + type + "\", not \"mamba\", \"falcon_mamba\" or \"mamba2\"");
  }
  ModelConfig c = read_transformers_common(top, {4096, 64, 32768, 128, false});
  c.headdim = top.integer("head_dim", 64);
  c.ngroups = top.integer("n_groups", 8);
  c.chunk_size = top.integer("chunk_size", 256);
  // transformers' Mamba2Mixer always has the gated RMSNorm and always gates before normalising,
  // whatever `rms_norm` and `norm_before_gate` say (some configs carry them), so neither is read.
  c.rmsnorm = true;
  c.norm_before_gate = false;
  top.range("time_step_limit", c.dt_min_limit, c.dt_max_limit);

  // transformers sizes the mixer by num_heads * head_dim and by expand * hidden_size in different
  // places; it only works when they agree.
  const int64_t num_heads = top.integer("num_heads", 128);
  if (num_heads < 1 || num_heads > (int64_t{1} << 20) || c.headdim < 1 ||
      c.headdim > (int64_t{1} << 20)) {
    top.fail("num_heads", "and head_dim must be positive");
  }
  if (c.d_model > 0 && c.expand > 0 && c.d_model <= (int64_t{1} << 20) &&
      c.expand <= (int64_t{1} << 20) && num_heads * c.headdim != c.expand * c.d_model) {
    top.fail("num_heads", "(" + std::to_string(num_heads) + ") * head_dim (" +
                              std::to_string(c.headdim) + ") must equal expand * hidden_size (" +
                              std::to_string(c.expand * c.d_model) + ")");
  }
  return c;
}

// Mistral's params.json (Mamba-Codestral): MambaConfig under other names, every other Mamba2
// argument at its default.
ModelConfig read_mistral(const Fields& top) {
  const std::string type = top.string("model_type", "mamba");
  if (type != "mamba") top.fail("model_type", "is \"" + type + "\", not \"mamba\"");
  ModelConfig c;
  c.d_model = top.integer("dim", 0);
  c.n_layer = top.integer("n_layers", 0);
  c.vocab_size = top.integer("vocab_size", 0);
  c.ngroups = top.integer("n_groups", 1);
  c.pad_vocab_size_multiple = top.integer("pad_vocab_size_multiple", 8);
  c.tie_embeddings = top.boolean("tie_embeddings", true);
  if (!top.boolean("rms_norm", true)) {
    top.fail("rms_norm", "is false; LayerNorm blocks are not supported");
  }
  return c;
}

}  // namespace

ModelConfig parse_config_json(std::string_view text, const std::string& where) {
  json root;
  try {
    root = json::parse(quote_nonfinite_tokens(text));
  } catch (const json::exception& e) {
    throw Error(where, std::string("not valid JSON: ") + e.what());
  }
  if (!root.is_object()) throw Error(where, "expected a JSON object at the top level");

  const Fields top(root, where, "");
  ModelConfig config;
  if (top.has("d_model") || top.has("ssm_cfg") || top.has("n_layer")) {
    config = read_state_spaces(top, where);
  } else if (top.has("hidden_size") || top.has("num_hidden_layers") ||
             top.string("model_type", "") == "mamba2" ||
             top.string("model_type", "") == "falcon_mamba") {
    config = read_transformers(top);
  } else if (top.has("dim") || top.has("n_layers")) {
    config = read_mistral(top);
  } else {
    throw Error(where,
                "not a Mamba-2 config: expected d_model (state-spaces), hidden_size "
                "(transformers) or dim (params.json)");
  }
  config.resolve(where);
  return config;
}

ModelConfig load_model_config(const std::filesystem::path& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    throw Error(path.string(), "no such file or directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string(), "cannot open");
  const std::string text(std::istreambuf_iterator<char>(in), {});
  return parse_config_json(text, path.string());
}

}  // namespace mamba2
