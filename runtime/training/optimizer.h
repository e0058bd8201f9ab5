// AdamW over the flat parameter buffer: decoupled weight decay on the matrices only (the layout's
// weight_decay flags), global-norm gradient clipping, and a learning rate that warms up linearly
// and then follows a cosine down to min_lr_ratio * lr at total_steps.
#pragma once

#include <cstdint>
#include <vector>

#include "mamba2/training.h"
#include "runtime/training/parameters.h"

namespace mamba2::training {

// The learning rate of step `step` (0-based).
double learning_rate(const AdamWSettings& settings, int64_t step);

class AdamW {
 public:
  AdamW(const ParameterLayout& layout, AdamWSettings settings);

  // Clips grads in place to the global norm `clip`, then updates params with the rate of step
  // `step()`, and advances the step. Returns the gradient norm before clipping.
  double update(float* params, float* grads);

  int64_t step() const { return step_; }
  const AdamWSettings& settings() const { return settings_; }
  // The moments, for checkpoints.
  std::vector<float>& first_moment() { return m_; }
  std::vector<float>& second_moment() { return v_; }
  const std::vector<float>& first_moment() const { return m_; }
  const std::vector<float>& second_moment() const { return v_; }
  void set_step(int64_t step) { step_ = step; }

 private:
  const ParameterLayout& layout_;
  AdamWSettings settings_;
  std::vector<float> m_, v_;
  int64_t step_ = 0;
};

}  // namespace mamba2::training
