// The activations of one block of up to `capacity` consecutive tokens passing through the layers:
// working memory sized by the chunk, never by the prompt, so prefill reuses a few blocks for any
// prompt length.
#pragma once

#include <cstdint>
#include <span>

#include "kernels/aligned_vector.h"
#include "kernels/matmul_dispatch.h"
#include "mamba2/config.h"
#include "runtime/engine/mixer.h"

namespace mamba2 {

struct ActivationBlock {
  // Sized for the residual stream, the projections and `mixer`'s `scan`.
  ActivationBlock(const ModelConfig& config, const Mixer& mixer, int64_t capacity, BlockScan scan);

  // Makes room for `rows` tokens: a block too small is remade with the next power of two rows
  // (at least 16, at most `limit`). A prefill block so grows to the longest piece it has held, and
  // a session that sees only short prompts never allocates, nor page-faults in, whole chunks.
  void reserve(const ModelConfig& config, const Mixer& mixer, int64_t rows, int64_t limit);

  // hidden and normed view other buffers: a copy would view the original's. Moves keep them.
  ActivationBlock(const ActivationBlock&) = delete;
  ActivationBlock& operator=(const ActivationBlock&) = delete;
  ActivationBlock(ActivationBlock&&) noexcept = default;
  ActivationBlock& operator=(ActivationBlock&&) noexcept = default;

  int64_t capacity;
  BlockScan scan;
  int64_t tokens = 0;    // rows in use
  int64_t position = 0;  // sequence position of row 0
  // Consecutive tokens of one sequence, or one token each of separate sequences (BatchDecoder's
  // block), which the projections compute row by row exactly as they would alone.
  kernels::TokenRows token_rows = kernels::TokenRows::kOneSequence;

  AlignedVector<float> residual;  // [capacity, d_model] the residual stream
  AlignedVector<float> zxbcdt;    // [capacity, d_in_proj] in_proj output (Mamba-1: x | z)
  AlignedVector<float> xbc;       // [capacity, conv_dim] conv + SiLU output: x | B | C
  AlignedVector<float> x_dbl;     // [capacity, d_x_proj] Mamba-1's x_proj output
  AlignedVector<float> dt;        // [capacity, nheads] softplus'd, clamped
  AlignedVector<float> y;         // [capacity, d_inner] gated SSM output, the out_proj input
  // Two buffers that live while another is dead, so they share its memory (a sixth of a block):
  // hidden, written by the embedding or out_proj and read by the next add + RMSNorm, in zxbcdt,
  // which in_proj writes after that and out_proj's gating reads before it; normed, written by
  // the RMSNorm and read by in_proj (or the lm_head after the last layer), in y, which the scan
  // writes after in_proj.
  std::span<float> hidden;             // [capacity, d_model] embedding or the last mixer's output
  std::span<float> normed;             // [capacity, d_model] RMSNorm output, the projections' input
  AlignedVector<float> ssd_workspace;  // one slice per scan tile
  int64_t ssd_workspace_stride;
  // The associative scan's (BlockScan::kAssociative), empty in other blocks:
  AlignedVector<float> state_local;   // [nheads, headdim, d_state] this chunk's state from zero
  AlignedVector<float> state_in;      // [nheads, headdim, d_state] the state entering this chunk
  AlignedVector<float> decay;         // exp(sum dt * A) over the chunk: [nheads];
                                      // Mamba-1: [d_inner, d_state]
  kernels::MatmulInput matmul_input;  // the projections' converted activations, reused
};

}  // namespace mamba2
