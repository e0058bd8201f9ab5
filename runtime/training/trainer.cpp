#include "runtime/training/trainer.h"

#include "mamba2/error.h"

namespace mamba2::training {

Trainer::Trainer(const ParameterLayout& layout, std::vector<float> params, AdamWSettings settings,
                 int64_t batch, int64_t seq_len, ThreadingContext threading)
    : layout_(layout),
      params_(std::move(params)),
      grads_(static_cast<size_t>(layout.total())),
      optimizer_(layout, settings),
      model_(layout, batch, seq_len),
      threading_(std::move(threading)) {
  if (static_cast<int64_t>(params_.size()) != layout.total()) {
    throw Error("trainer", "parameter count does not match the layout");
  }
}

TrainingStep Trainer::step(std::span<const int32_t> tokens) {
  TrainingStep result;
  result.lr = learning_rate(optimizer_.settings(), optimizer_.step());
  threading_.execute([&] {
    result.loss = model_.forward(params_.data(), tokens, threading_);
    model_.backward(params_.data(), grads_.data(), threading_);
  });
  result.grad_norm = optimizer_.update(params_.data(), grads_.data());
  return result;
}

}  // namespace mamba2::training
