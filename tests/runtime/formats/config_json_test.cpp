#include "runtime/formats/config_json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tests/runtime/formats/format_test_util.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

using testing::fixture_dir;
using testing::read_bytes;

std::string read_text(const std::filesystem::path& path) {
  const auto bytes = read_bytes(path);
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

TEST(ConfigJson, ReadsTheStateSpacesFixtures) {
  const ModelConfig tiny = parse_config_json(read_text(fixture_dir("tiny") / "config.json"), "t");
  EXPECT_EQ(tiny.d_model, 64);
  EXPECT_EQ(tiny.n_layer, 2);
  EXPECT_EQ(tiny.vocab_padded, 256);
  EXPECT_EQ(tiny.d_state, 16);
  EXPECT_EQ(tiny.headdim, 16);
  EXPECT_EQ(tiny.nheads, 8);
  EXPECT_EQ(tiny.chunk_size, 16);
  EXPECT_TRUE(tiny.tie_embeddings);

  const ModelConfig groups =
      parse_config_json(read_text(fixture_dir("small_groups") / "config.json"), "s");
  EXPECT_EQ(groups.ngroups, 2);
  EXPECT_EQ(groups.nheads, 8);
  EXPECT_EQ(groups.conv_dim, 256 + 2 * 2 * 32);
}

TEST(ConfigJson, StateSpacesDefaultsAreMamba2s) {
  // mamba2-130m's config.json, as released.
  const ModelConfig c = parse_config_json(R"({
    "d_model": 768, "d_intermediate": 0, "n_layer": 24, "vocab_size": 50277,
    "ssm_cfg": {"layer": "Mamba2"}, "attn_layer_idx": [], "attn_cfg": {},
    "rms_norm": true, "residual_in_fp32": true, "fused_add_norm": true,
    "pad_vocab_size_multiple": 16, "tie_embeddings": true})",
                                          "config.json");
  EXPECT_EQ(c.vocab_padded, 50288);
  EXPECT_EQ(c.d_state, 128);
  EXPECT_EQ(c.d_conv, 4);
  EXPECT_EQ(c.headdim, 64);
  EXPECT_EQ(c.ngroups, 1);
  EXPECT_EQ(c.nheads, 24);
  EXPECT_EQ(c.chunk_size, 256);
  EXPECT_TRUE(c.rmsnorm);
  EXPECT_FALSE(c.norm_before_gate);
  EXPECT_FALSE(c.proj_bias);
  EXPECT_TRUE(c.conv_bias);
  EXPECT_FALSE(c.has_dt_limit());

  // Missing top-level fields take MambaConfig's defaults: pad_vocab_size_multiple is 8.
  const ModelConfig padded = parse_config_json(
      R"({"d_model": 64, "n_layer": 1, "vocab_size": 50277, "ssm_cfg": {"layer": "Mamba2",
          "headdim": 32, "dt_limit": [0.001, 0.1], "bias": true, "conv_bias": false,
          "d_ssm": 64, "A_init_range": [1, 16]}})",
      "config.json");
  EXPECT_EQ(padded.vocab_padded, 50280);
  EXPECT_TRUE(padded.tie_embeddings);
  EXPECT_TRUE(padded.proj_bias);
  EXPECT_FALSE(padded.conv_bias);
  EXPECT_EQ(padded.d_ssm, 64);
  EXPECT_EQ(padded.d_mlp, 64);
  EXPECT_FLOAT_EQ(padded.dt_min_limit, 0.001f);
  EXPECT_FLOAT_EQ(padded.dt_max_limit, 0.1f);
}

TEST(ConfigJson, StateSpacesMamba1DefaultsAreTheMambaConstructors) {
  // mamba-130m's config.json, as released: an empty ssm_cfg is Mamba-1.
  const ModelConfig c = parse_config_json(
      R"({"d_model": 768, "n_layer": 24, "vocab_size": 50277, "ssm_cfg": {}, "rms_norm": true,
          "residual_in_fp32": true, "fused_add_norm": true, "pad_vocab_size_multiple": 8})",
      "config.json");
  EXPECT_EQ(c.architecture, Architecture::kMamba1);
  EXPECT_EQ(c.d_state, 16);
  EXPECT_EQ(c.d_inner, 1536);
  EXPECT_EQ(c.dt_rank, 48);  // "auto": ceil(768 / 16)
  EXPECT_EQ(c.d_x_proj, 48 + 2 * 16);
  EXPECT_EQ(c.d_in_proj, 2 * 1536);
  EXPECT_EQ(c.conv_dim, 1536);
  EXPECT_EQ(c.vocab_padded, 50280);
  EXPECT_TRUE(c.conv_bias);
  EXPECT_FALSE(c.proj_bias);

  const ModelConfig explicit_rank = parse_config_json(
      R"({"d_model": 128, "n_layer": 3, "vocab_size": 500,
          "ssm_cfg": {"layer": "Mamba1", "d_state": 8, "dt_rank": 12, "bias": true}})",
      "config.json");
  EXPECT_EQ(explicit_rank.dt_rank, 12);
  EXPECT_EQ(explicit_rank.d_state, 8);
  EXPECT_TRUE(explicit_rank.proj_bias);
  EXPECT_ERROR_MENTIONS(parse_config_json(R"({"d_model": 64, "n_layer": 1, "vocab_size": 8,
                            "ssm_cfg": {"dt_rank": "half"}})",
                                          "c"),
                        "ssm_cfg.dt_rank must be \"auto\" or an integer");
}

TEST(ConfigJson, ReadsTransformersMambaConfig) {
  const ModelConfig c = parse_config_json(
      R"({"model_type": "mamba", "hidden_size": 768, "num_hidden_layers": 24, "vocab_size": 50280,
          "state_size": 16, "expand": 2, "intermediate_size": 1536, "conv_kernel": 4,
          "time_step_rank": 48, "use_bias": false, "use_conv_bias": true,
          "layer_norm_epsilon": 1e-05, "tie_word_embeddings": true})",
      "config.json");
  EXPECT_EQ(c.architecture, Architecture::kMamba1);
  EXPECT_EQ(c.dt_rank, 48);
  EXPECT_EQ(c.vocab_padded, 50280);
  // tiiuae/falcon-mamba-7b's: RMS-normalised dt, B and C, with their own eps.
  const ModelConfig falcon = parse_config_json(
      R"({"model_type": "falcon_mamba", "hidden_size": 4096, "num_hidden_layers": 64,
          "vocab_size": 65024, "state_size": 16, "expand": 2, "conv_kernel": 4,
          "time_step_rank": 256, "use_bias": false, "use_conv_bias": true,
          "layer_norm_epsilon": 1e-05, "mixer_rms_eps": 1e-06, "tie_word_embeddings": false})",
      "config.json");
  EXPECT_EQ(falcon.architecture, Architecture::kMamba1);
  EXPECT_TRUE(falcon.dt_b_c_rms);
  EXPECT_FLOAT_EQ(falcon.dt_b_c_rms_eps, 1e-6f);
  EXPECT_EQ(falcon.dt_rank, 256);
  EXPECT_ERROR_MENTIONS(parse_config_json(R"({"model_type": "mamba", "hidden_size": 64,
                                              "intermediate_size": 100})",
                                          "c"),
                        "intermediate_size");
}

TEST(ConfigJson, RejectsStateSpacesArchitecturesWeDoNotRun) {
  const auto with = [](const std::string& extra) {
    return R"({"d_model": 64, "n_layer": 2, "vocab_size": 256, )" + extra + "}";
  };
  EXPECT_ERROR_MENTIONS(parse_config_json(with(R"("ssm_cfg": {"layer": "Mamba3"})"), "c.json"),
                        "ssm_cfg.layer is \"Mamba3\"");
  EXPECT_ERROR_MENTIONS(parse_config_json(with(R"("ssm_cfg": {"headdim": 64})"), "c.json"),
                        "ssm_cfg.headdim is not a Mamba (Mamba-1) argument");
  EXPECT_ERROR_MENTIONS(
      parse_config_json(with(R"("ssm_cfg": {"layer": "Mamba2"}, "d_intermediate": 128)"), "c"),
      "d_intermediate");
  EXPECT_ERROR_MENTIONS(
      parse_config_json(with(R"("ssm_cfg": {"layer": "Mamba2"}, "attn_layer_idx": [1])"), "c"),
      "attn_layer_idx");
  EXPECT_ERROR_MENTIONS(
      parse_config_json(with(R"("ssm_cfg": {"layer": "Mamba2"}, "rms_norm": false)"), "c"),
      "rms_norm");
  EXPECT_ERROR_MENTIONS(
      parse_config_json(with(R"("ssm_cfg": {"layer": "Mamba2", "d_stat": 16})"), "c"),
      "ssm_cfg.d_stat is not a Mamba2 argument");
  EXPECT_ERROR_MENTIONS(
      parse_config_json(with(R"("ssm_cfg": {"layer": "Mamba2", "d_state": "16"})"), "c"),
      "ssm_cfg.d_state must be an integer");
  EXPECT_ERROR_MENTIONS(
      parse_config_json(with(R"("ssm_cfg": {"layer": "Mamba2", "rmsnorm": 1})"), "c"),
      "ssm_cfg.rmsnorm must be true or false");
}

TEST(ConfigJson, RejectsNegativeDimsAndNonJson) {
  EXPECT_ERROR_MENTIONS(
      parse_config_json(
          R"({"d_model": -4, "n_layer": 2, "vocab_size": 256, "ssm_cfg": {"layer": "Mamba2"}})",
          "config.json"),
      "config.json: d_model is -4");
  EXPECT_ERROR_MENTIONS(parse_config_json("d_model = 64", "config.json"),
                        "config.json: not valid JSON");
  EXPECT_ERROR_MENTIONS(parse_config_json("[1, 2]", "config.json"), "JSON object");
  EXPECT_ERROR_MENTIONS(parse_config_json(R"({"foo": 1})", "config.json"), "not a Mamba-2 config");
  EXPECT_ERROR_MENTIONS(parse_config_json(R"({"d_model": 1e400, "n_layer": 1})", "c"),
                        "number overflow");
}

// Hugging Face's conversion of mamba2-130m, with Python's bare Infinity.
constexpr const char* kTransformers130m = R"({
  "architectures": ["Mamba2ForCausalLM"], "bos_token_id": 0, "chunk_size": 256,
  "conv_kernel": 4, "eos_token_id": 0, "expand": 2, "head_dim": 64, "hidden_act": "silu",
  "hidden_size": 768, "initializer_range": 0.1, "layer_norm_epsilon": 1e-05,
  "model_type": "mamba2", "n_groups": 1, "num_heads": 24, "num_hidden_layers": 24,
  "pad_token_id": 0, "rescale_prenorm_residual": false, "residual_in_fp32": true,
  "rms_norm": true, "state_size": 128, "tie_word_embeddings": true, "time_step_floor": 0.0001,
  "time_step_limit": [0.0, Infinity], "time_step_max": 0.1, "time_step_min": 0.001,
  "time_step_rank": 48, "use_bias": false, "use_cache": true, "use_conv_bias": true,
  "vocab_size": 50288, "note": "Infinity inside a string stays text: [NaN, -Infinity]"
})";

TEST(ConfigJson, ReadsTransformersMamba2ConfigWithInfinity) {
  const ModelConfig c = parse_config_json(kTransformers130m, "config.json");
  EXPECT_EQ(c.d_model, 768);
  EXPECT_EQ(c.n_layer, 24);
  EXPECT_EQ(c.vocab_size, 50288);
  EXPECT_EQ(c.vocab_padded, 50288);  // no extra padding: transformers stores the padded size
  EXPECT_EQ(c.nheads, 24);
  EXPECT_EQ(c.headdim, 64);
  EXPECT_EQ(c.d_state, 128);
  EXPECT_EQ(c.ngroups, 1);
  EXPECT_TRUE(c.tie_embeddings);
  EXPECT_EQ(c.dt_min_limit, 0.0f);
  EXPECT_TRUE(std::isinf(c.dt_max_limit));
  EXPECT_FALSE(c.has_dt_limit());
  EXPECT_FLOAT_EQ(c.norm_eps, 1e-5f);

  // transformers ignores these two: its mixer always gates, then normalises.
  const ModelConfig ignored = parse_config_json(
      R"({"hidden_size": 64, "num_heads": 8, "head_dim": 16, "n_groups": 1, "vocab_size": 256,
          "num_hidden_layers": 2, "norm_before_gate": true, "rms_norm": false})",
      "config.json");
  EXPECT_TRUE(ignored.rmsnorm);
  EXPECT_FALSE(ignored.norm_before_gate);
}

TEST(ConfigJson, TransformersDefaultsAreMamba2Configs) {
  // Only the sizes Mamba-Codestral shares with the defaults are left out.
  const ModelConfig c = parse_config_json(
      R"({"model_type": "mamba2", "time_step_limit": [0.01, Infinity], "vocab_size": 32768})",
      "config.json");
  EXPECT_EQ(c.d_model, 4096);
  EXPECT_EQ(c.n_layer, 64);
  EXPECT_EQ(c.nheads, 128);
  EXPECT_EQ(c.ngroups, 8);
  EXPECT_FALSE(c.tie_embeddings);
  EXPECT_FLOAT_EQ(c.dt_min_limit, 0.01f);
  EXPECT_TRUE(c.has_dt_limit());

  EXPECT_ERROR_MENTIONS(
      parse_config_json(R"({"hidden_size": 768, "num_heads": 20, "head_dim": 64, "n_groups": 1})",
                        "config.json"),
      "must equal expand * hidden_size");
  EXPECT_ERROR_MENTIONS(parse_config_json(R"({"hidden_size": 768, "model_type": "jamba"})", "c"),
                        "model_type is \"jamba\"");
  EXPECT_ERROR_MENTIONS(parse_config_json(R"({"hidden_size": 768, "num_heads": 24, "n_groups": 1,
                            "time_step_limit": [0.0]})",
                                          "c"),
                        "time_step_limit must be a list [min, max]");
}

TEST(ConfigJson, ReadsMistralParamsJson) {
  // Mamba-Codestral-7B-v0.1's params.json.
  const ModelConfig c = parse_config_json(
      R"({"dim": 4096, "n_layers": 64, "vocab_size": 32768, "n_groups": 8, "rms_norm": true,
          "residual_in_fp32": true, "fused_add_norm": true, "pad_vocab_size_multiple": 1,
          "tie_embeddings": false, "model_type": "mamba"})",
      "params.json");
  EXPECT_EQ(c.d_model, 4096);
  EXPECT_EQ(c.n_layer, 64);
  EXPECT_EQ(c.vocab_padded, 32768);
  EXPECT_EQ(c.ngroups, 8);
  EXPECT_EQ(c.nheads, 128);
  EXPECT_EQ(c.d_state, 128);
  EXPECT_FALSE(c.tie_embeddings);
}

}  // namespace
}  // namespace mamba2
