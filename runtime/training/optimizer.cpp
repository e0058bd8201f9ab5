#include "runtime/training/optimizer.h"

#include <cmath>
#include <numbers>

namespace mamba2::training {

double learning_rate(const AdamWSettings& s, int64_t step) {
  if (step < s.warmup_steps) return s.lr * double(step + 1) / double(s.warmup_steps);
  const int64_t decay_steps = s.total_steps - s.warmup_steps;
  const double progress =
      decay_steps <= 0 ? 1.0 : std::min(1.0, double(step - s.warmup_steps) / double(decay_steps));
  const double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
  return s.lr * (s.min_lr_ratio + (1.0 - s.min_lr_ratio) * cosine);
}

AdamW::AdamW(const ParameterLayout& layout, AdamWSettings settings)
    : layout_(layout),
      settings_(settings),
      m_(static_cast<size_t>(layout.total()), 0.0f),
      v_(static_cast<size_t>(layout.total()), 0.0f) {}

double AdamW::update(float* params, float* grads) {
  const int64_t n = layout_.total();
  double sum_squares = 0;
  for (int64_t i = 0; i < n; ++i) sum_squares += double(grads[i]) * grads[i];
  const double norm = std::sqrt(sum_squares);
  const double clip_scale =
      settings_.clip > 0 && norm > settings_.clip ? settings_.clip / norm : 1.0;

  const double lr = learning_rate(settings_, step_);
  const double t = double(step_ + 1);
  const double correction1 = 1.0 - std::pow(settings_.beta1, t);
  const double correction2 = 1.0 - std::pow(settings_.beta2, t);
  const float b1 = float(settings_.beta1), b2 = float(settings_.beta2);
  const float step_size = float(lr / correction1);
  const float inv_sqrt_c2 = float(1.0 / std::sqrt(correction2));
  const float eps = float(settings_.eps);
  for (const ParameterSlot& slot : layout_.slots()) {
    // Decoupled decay: p -= lr * wd * p, before the Adam step (as torch.optim.AdamW).
    const float decay = slot.weight_decay ? float(1.0 - lr * settings_.weight_decay) : 1.0f;
    for (int64_t i = slot.offset; i < slot.offset + slot.size; ++i) {
      const float g = float(grads[i] * clip_scale);
      grads[i] = g;
      m_[i] = b1 * m_[i] + (1.0f - b1) * g;
      v_[i] = b2 * v_[i] + (1.0f - b2) * g * g;
      params[i] = params[i] * decay - step_size * m_[i] / (std::sqrt(v_[i]) * inv_sqrt_c2 + eps);
    }
  }
  ++step_;
  return norm;
}

}  // namespace mamba2::training
