#include "mamba2/config.h"

#include <cmath>

#include "mamba2/error.h"

namespace mamba2 {
namespace {

// Bounds far above any released checkpoint and low enough that no derived tensor size
// overflows 64 bits: a config is untrusted input.
constexpr int64_t kMaxWidth = 1 << 16;
constexpr int64_t kMaxLayers = 1 << 12;
constexpr int64_t kMaxVocab = 1 << 24;
constexpr int64_t kMaxConv = 64;

void check_range(const std::string& where, const char* field, int64_t value, int64_t lo,
                 int64_t hi) {
  if (value < lo || value > hi) {
    throw Error(where, std::string(field) + " is " + std::to_string(value) + ", expected " +
                           std::to_string(lo) + ".." + std::to_string(hi));
  }
}

void check_divides(const std::string& where, const char* divisor_name, int64_t divisor,
                   const char* value_name, int64_t value) {
  if (value % divisor != 0) {
    throw Error(where, std::string(divisor_name) + " (" + std::to_string(divisor) +
                           ") does not divide " + value_name + " (" + std::to_string(value) + ")");
  }
}

// Mamba-1's sizes in Mamba-2's terms: one channel per head, B and C shared by all channels.
void resolve_mamba1(const std::string& where, ModelConfig& c) {
  if (c.dt_b_c_rms_eps == 0.0f) c.dt_b_c_rms_eps = c.norm_eps;
  if (!(std::isfinite(c.dt_b_c_rms_eps) && c.dt_b_c_rms_eps > 0.0f && c.dt_b_c_rms_eps < 1.0f)) {
    throw Error(where, "the dt, B, C RMS norm epsilon must be in (0, 1)");
  }
  if (c.dt_rank == 0) c.dt_rank = (c.d_model + 15) / 16;
  check_range(where, "dt_rank", c.dt_rank, 1, kMaxWidth);
  c.headdim = 1;
  c.ngroups = 1;
  c.d_ssm = c.d_inner;
  c.nheads = c.d_inner;
  c.d_mlp = 0;
  c.rmsnorm = false;
  c.D_has_hdim = false;
  c.conv_dim = c.d_inner;
  c.d_in_proj = 2 * c.d_inner;
  c.d_x_proj = c.dt_rank + 2 * c.d_state;
}

}  // namespace

std::string_view architecture_name(Architecture architecture) {
  return architecture == Architecture::kMamba1 ? "mamba1" : "mamba2";
}

void ModelConfig::resolve(const std::string& where) {
  check_range(where, "d_model", d_model, 1, kMaxWidth);
  check_range(where, "n_layer", n_layer, 1, kMaxLayers);
  check_range(where, "vocab_size", vocab_size, 1, kMaxVocab);
  check_range(where, "pad_vocab_size_multiple", pad_vocab_size_multiple, 1, 1 << 16);
  check_range(where, "d_state", d_state, 1, kMaxWidth);
  check_range(where, "d_conv", d_conv, 1, kMaxConv);
  check_range(where, "expand", expand, 1, 64);
  check_range(where, "headdim", headdim, 1, kMaxWidth);
  check_range(where, "ngroups", ngroups, 1, kMaxWidth);
  check_range(where, "chunk_size", chunk_size, 1, 1 << 16);
  if (!(std::isfinite(norm_eps) && norm_eps > 0.0f && norm_eps < 1.0f)) {
    throw Error(where, "layer norm epsilon must be in (0, 1)");
  }
  if (std::isnan(dt_min_limit) || std::isnan(dt_max_limit) || dt_min_limit < 0.0f ||
      !(dt_min_limit <= dt_max_limit)) {
    throw Error(where, "dt_limit must be 0 <= min <= max");
  }

  vocab_padded = (vocab_size + pad_vocab_size_multiple - 1) / pad_vocab_size_multiple *
                 pad_vocab_size_multiple;
  check_range(where, "padded vocabulary", vocab_padded, 1, kMaxVocab);
  d_inner = expand * d_model;
  check_range(where, "d_inner (expand * d_model)", d_inner, 1, kMaxWidth * 4);
  if (architecture == Architecture::kMamba1) {
    resolve_mamba1(where, *this);
    return;
  }
  if (d_ssm == 0) d_ssm = d_inner;
  check_range(where, "d_ssm", d_ssm, 1, d_inner);
  check_divides(where, "headdim", headdim, "d_ssm", d_ssm);
  nheads = d_ssm / headdim;
  check_divides(where, "ngroups", ngroups, "the number of heads", nheads);
  check_range(where, "ngroups * d_state", ngroups * d_state, 1, kMaxWidth * 4);
  d_mlp = d_inner - d_ssm;
  conv_dim = d_ssm + 2 * ngroups * d_state;
  d_in_proj = 2 * d_inner + 2 * ngroups * d_state + nheads;
}

}  // namespace mamba2
