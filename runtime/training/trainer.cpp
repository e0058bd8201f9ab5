#include "runtime/training/trainer.h"

#include "mamba2/error.h"
#include "runtime/training/checkpoint.h"

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

TrainingStep Trainer::step(std::span<const int32_t> tokens) { return run_step(tokens); }

TrainingStep Trainer::step(const ForecastBatch<float>& batch) { return run_step(batch); }

template <class Batch>
TrainingStep Trainer::run_step(const Batch& batch) {
  TrainingStep result;
  result.lr = learning_rate(optimizer_.settings(), optimizer_.step());
  threading_.execute([&] {
    result.loss = model_.forward(params_.data(), batch, threading_);
    model_.backward(params_.data(), grads_.data(), threading_);
  });
  result.grad_norm = optimizer_.update(params_.data(), grads_.data());
  return result;
}

void Trainer::save_checkpoint(const std::filesystem::path& path, uint64_t seed) const {
  write_checkpoint(
      path, layout_,
      {optimizer_.step(), seed, params_, optimizer_.first_moment(), optimizer_.second_moment()});
}

void Trainer::resume(const std::filesystem::path& path, uint64_t seed) {
  CheckpointState state = read_checkpoint(path, layout_);
  if (state.seed != seed) throw Error(path.string(), "checkpoint was made with another --seed");
  params_ = std::move(state.params);
  optimizer_.first_moment() = std::move(state.m);
  optimizer_.second_moment() = std::move(state.v);
  optimizer_.set_step(state.step);
}

}  // namespace mamba2::training
