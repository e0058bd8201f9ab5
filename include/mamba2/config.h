// Hyper-parameters of a Mamba language model (the official `MambaConfig` + the `Mamba2` or Mamba-1
// `Mamba` arguments), and the sizes derived from them. Every loader fills the declared fields and
// calls resolve().
#pragma once

#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>

namespace mamba2 {

// The layer (mixer) kind of every block.
enum class Architecture {
  kMamba2,  // mamba_ssm/modules/mamba2.py Mamba2: SSD heads, scalar A per head
  kMamba1,  // mamba_ssm/modules/mamba_simple.py Mamba: selective scan, A per channel and state
};

std::string_view architecture_name(Architecture architecture);  // "mamba2", "mamba1"

struct ModelConfig {
  Architecture architecture = Architecture::kMamba2;
  // Declared by the checkpoint; defaults are those of MambaConfig and the Mamba2 constructor.
  int64_t d_model = 0;
  int64_t n_layer = 0;
  int64_t vocab_size = 0;
  int64_t pad_vocab_size_multiple = 8;
  bool tie_embeddings = true;
  int64_t d_state = 128;
  int64_t d_conv = 4;
  int64_t expand = 2;
  int64_t headdim = 64;
  int64_t ngroups = 1;
  int64_t chunk_size = 256;
  int64_t d_ssm = 0;    // 0: equal to d_inner
  bool rmsnorm = true;  // gated RMSNorm before out_proj
  bool norm_before_gate = false;
  bool D_has_hdim = false;
  bool proj_bias = false;  // in_proj / out_proj biases (`bias`)
  bool conv_bias = true;
  float dt_min_limit = 0.0f;  // dt_limit = (min, max); the default (0, inf) clamps nothing
  float dt_max_limit = std::numeric_limits<float>::infinity();
  float norm_eps = 1e-5f;  // block norms, norm_f and the gated norm
  // Mamba-1 only (the Mamba-2 fields headdim, ngroups, chunk_size, d_ssm, rmsnorm, ... unused).
  int64_t dt_rank = 0;      // x_proj's dt_low width; 0: "auto", ceil(d_model / 16)
  bool dt_b_c_rms = false;  // falcon-mamba: weightless RMSNorm of dt_low, B and C
  // Its eps: transformers' mixer_rms_eps; 0 resolves to norm_eps, what llama.cpp uses.
  float dt_b_c_rms_eps = 0.0f;

  // Derived by resolve(). Mamba-1 is resolved as Mamba-2 with one channel per head (headdim 1,
  // nheads = d_inner, ngroups 1, d_ssm = d_inner), so the state and activation sizes below hold
  // for both: its SSM state is [d_inner, d_state], its dt [d_inner].
  int64_t vocab_padded = 0;  // embedding / lm_head rows and logits width
  int64_t d_inner = 0;       // expand * d_model
  int64_t nheads = 0;        // d_ssm / headdim
  int64_t conv_dim = 0;      // d_ssm + 2 * ngroups * d_state; Mamba-1: d_inner (x only)
  int64_t d_in_proj = 0;     // 2 * d_inner + 2 * ngroups * d_state + nheads; Mamba-1: 2 * d_inner
  int64_t d_mlp = 0;         // d_inner - d_ssm
  int64_t d_x_proj = 0;      // Mamba-1: dt_rank + 2 * d_state (x_proj's rows: dt_low | B | C)

  bool has_dt_limit() const {
    return dt_min_limit > 0.0f || dt_max_limit < std::numeric_limits<float>::infinity();
  }

  // Checks every field and derives the sizes above. Throws Error("<where>: <field> ...") for a
  // value that is out of range, inconsistent, or large enough to overflow a tensor size.
  void resolve(const std::string& where);
};

// Reads a config file in any dialect checkpoints are published in (state-spaces or transformers
// config.json, Mistral's params.json) and resolves it. Throws Error naming the file.
ModelConfig load_model_config(const std::filesystem::path& path);

}  // namespace mamba2
