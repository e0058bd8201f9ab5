#include "runtime/engine/activation_block.h"

#include <algorithm>
#include <bit>

namespace mamba2 {

ActivationBlock::ActivationBlock(const ModelConfig& c, const Mixer& mixer, int64_t cap,
                                 BlockScan block_scan)
    : capacity(cap), scan(block_scan) {
  const auto rows = static_cast<size_t>(cap);
  const auto d_model = static_cast<size_t>(c.d_model);
  residual.resize(rows * d_model);
  zxbcdt.resize(rows * std::max(d_model, static_cast<size_t>(c.d_in_proj)));
  xbc.resize(rows * c.conv_dim);
  x_dbl.resize(rows * c.d_x_proj);
  dt.resize(rows * c.nheads);
  y.resize(rows * std::max(d_model, static_cast<size_t>(c.d_inner)));
  hidden = std::span(zxbcdt).first(rows * d_model);
  normed = std::span(y).first(rows * d_model);
  const MixerBufferSizes sizes = mixer.buffer_sizes(cap, scan);
  ssd_workspace_stride = sizes.workspace_stride;
  ssd_workspace.resize(static_cast<size_t>(sizes.workspace_stride * sizes.workspace_tiles));
  if (scan == BlockScan::kAssociative) {
    const auto state_size = static_cast<size_t>(c.nheads * c.headdim * c.d_state);
    state_local.resize(state_size);
    state_in.resize(state_size);
  }
  decay.resize(static_cast<size_t>(sizes.decay));
}

void ActivationBlock::reserve(const ModelConfig& config, const Mixer& mixer, int64_t rows,
                              int64_t limit) {
  if (rows <= capacity) return;
  constexpr uint64_t kMinRows = 16;
  const auto grown = static_cast<int64_t>(std::bit_ceil(std::max(kMinRows, uint64_t(rows))));
  *this = ActivationBlock(config, mixer, std::max(rows, std::min(grown, limit)), scan);
}

}  // namespace mamba2
