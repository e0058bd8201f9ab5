// A Mamba-2 model for training: a forward over a batch of sequences [batch, seq_len] that keeps
// what the backward needs, and the backward that turns the loss into gradients for every parameter
// of a ParameterLayout. Two objectives share the backbone (layers and final norm): a language model
// (token embedding in, lm_head and mean cross-entropy out) and a forecaster (mamba2-jax's
// Mamba2Forecaster: input_proj in, the last step's output_proj and mean squared error out), chosen
// by the layout. Templated on the scalar type: float trains, double checks gradients against
// finite differences.
//
// Parallelism: tiles over rows (tokens), sequences, (sequence, group) pairs or output channels,
// with boundaries that depend only on the shapes and reductions summed in a fixed order, so the
// results are bit-identical for any thread count. GEMMs run single-threaded inside the tiles.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "mamba2/forecaster_training.h"  // SsdVariant: mamba2-jax 0.1.x is forward only
#include "mamba2/threading_context.h"
#include "runtime/training/parameters.h"
#include "runtime/training/ssd.h"

namespace mamba2::training {

// Windows of a series and the values after them, in model units.
template <class T>
struct ForecastBatch {
  std::span<const T> windows;  // [batch, seq_len, input_dim]
  std::span<const T> targets;  // [batch, horizon, output_dim]; empty: forecasts only, loss 0
};

template <class T>
class TrainingModel {
 public:
  TrainingModel(const ParameterLayout& layout, int64_t batch, int64_t seq_len,
                SsdVariant ssd = SsdVariant::kExact);

  int64_t batch() const { return batch_; }
  int64_t seq_len() const { return seq_len_; }

  // tokens [batch, seq_len + 1]: each sequence's first seq_len tokens are the input and its last
  // seq_len the targets. Returns the mean cross-entropy (nats per token) over all vocab_padded
  // logits, as measure_perplexity counts it. Runs the parallel loops in `threading`.
  double forward(const T* params, std::span<const int32_t> tokens,
                 const ThreadingContext& threading);
  // A forecaster's layout: the mean squared error over all batch * horizon * output_dim targets.
  double forward(const T* params, const ForecastBatch<T>& batch, const ThreadingContext& threading);

  // After forward(): grads (layout.total() values) = d mean loss / d params.
  void backward(const T* params, T* grads, const ThreadingContext& threading);

  // After forward(): the logits [batch * seq_len, vocab_padded] of every input position.
  const std::vector<T>& logits() const { return logits_; }
  // After a forecaster's forward(): [batch, horizon * output_dim].
  const std::vector<T>& forecasts() const { return forecasts_; }

 private:
  struct LayerActivations {
    std::vector<T> rstd;    // [R] the block norm's 1/rms
    std::vector<T> normed;  // [R, d_model] in_proj input
    std::vector<T> zxbcdt;  // [R, d_in_proj]
    std::vector<T> xbc;     // [R, conv_dim] after conv + SiLU
    std::vector<T> dt;      // [R, nheads]
    std::vector<T> y;       // [R, d_ssm] SSD output
    std::vector<T> gated;   // [R, d_inner] out_proj input
    std::vector<T> states;  // [batch, chunks, nheads, headdim, d_state] entering each chunk
  };
  // Sequence b of a layer's activations, as the SSD forward and backward read it.
  SsdSequence<T> ssd_sequence(const LayerActivations& a, const LayerParams<const T>& w,
                              int64_t b) const;
  // residual_[0] -> every layer -> normed_f_.
  void forward_backbone(const ModelParams<const T>& p, const ThreadingContext& threading);
  // d_normed_ (the final norm output's gradient) -> d_residual_ (residual_[0]'s).
  void backward_backbone(const ModelParams<const T>& p, ModelParams<T>& g,
                         const ThreadingContext& threading);

  const ParameterLayout& layout_;
  const ModelConfig& c_;
  int64_t batch_, seq_len_, rows_;
  SsdVariant ssd_;
  std::vector<int32_t> inputs_, targets_;  // [R] tokens (language model)
  std::vector<T> windows_;                 // [R, input_dim] (forecaster)
  std::vector<T> forecasts_, dforecasts_;  // [batch, horizon * output_dim]
  std::vector<std::vector<T>> residual_;   // [n_layer + 1][R, d_model] entering each layer / norm_f
  std::vector<LayerActivations> layers_;
  std::vector<T> rstd_f_, normed_f_, logits_, dlogits_;
  // Backward scratch, reused by every layer.
  std::vector<T> d_residual_, d_normed_, d_zxbcdt_, d_xbc_, d_dt_, d_y_, d_gated_;
  std::vector<T> partials_;  // per-tile partial sums of small parameter gradients
};

}  // namespace mamba2::training
