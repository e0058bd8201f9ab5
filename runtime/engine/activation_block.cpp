#include "runtime/engine/activation_block.h"

namespace mamba2 {

ActivationBlock::ActivationBlock(const ModelConfig& c, int64_t cap, int64_t ssd_head_tile)
    : capacity(cap) {
  const auto rows = static_cast<size_t>(cap);
  residual.resize(rows * c.d_model);
  hidden.resize(rows * c.d_model);
  normed.resize(rows * c.d_model);
  zxbcdt.resize(rows * c.d_in_proj);
  xbc.resize(rows * c.conv_dim);
  dt.resize(rows * c.nheads);
  y.resize(rows * c.d_inner);
  const kernels::SsdShape shape{c.nheads, c.headdim, c.d_state, c.ngroups, c.D_has_hdim};
  ssd_workspace_stride = kernels::ssd_workspace_floats(shape, cap);
  const int64_t head_tiles = (c.nheads + ssd_head_tile - 1) / ssd_head_tile;
  ssd_workspace.resize(static_cast<size_t>(ssd_workspace_stride * head_tiles));
  const auto state_size = static_cast<size_t>(c.nheads * c.headdim * c.d_state);
  state_local.resize(state_size);
  state_in.resize(state_size);
  decay.resize(static_cast<size_t>(c.nheads));
}

}  // namespace mamba2
