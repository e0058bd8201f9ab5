// ForecasterTrainer: the trainer over a forecaster's ParameterLayout, and the training model's
// whole-window forward as a forecast.
#include <algorithm>

#include "mamba2/error.h"
#include "mamba2/forecaster_training.h"
#include "runtime/training/parameters.h"
#include "runtime/training/trainer.h"
#include "runtime/training/training_model.h"

namespace mamba2 {

using training::ParameterLayout;

struct ForecasterTrainer::Impl {
  Impl(const ModelConfig& backbone, const ForecasterShape& shape, uint64_t seed,
       ForecasterTrainerOptions options, const std::string& where)
      : layout(checked(backbone, where), shape),
        trainer(layout, training::init_parameters(layout, seed), options.optimizer, options.batch,
                options.context, std::move(options.threading)) {}

  static const ModelConfig& checked(const ModelConfig& config, const std::string& where) {
    training::check_trainable_config(config, where);
    return config;
  }

  ParameterLayout layout;
  training::Trainer trainer;
};

ForecasterTrainer::ForecasterTrainer(const ModelConfig& backbone, const ForecasterShape& shape,
                                     uint64_t seed, ForecasterTrainerOptions options,
                                     const std::string& where)
    : impl_(std::make_unique<Impl>(backbone, shape, seed, std::move(options), where)) {}

ForecasterTrainer::~ForecasterTrainer() = default;

TrainingStep ForecasterTrainer::step(std::span<const float> windows,
                                     std::span<const float> targets) {
  if (targets.empty()) throw Error("training", "a step needs the targets");
  return impl_->trainer.step(training::ForecastBatch<float>{windows, targets});
}

int64_t ForecasterTrainer::steps_done() const { return impl_->trainer.optimizer().step(); }

void ForecasterTrainer::save_checkpoint(const std::filesystem::path& path, uint64_t seed) const {
  impl_->trainer.save_checkpoint(path, seed);
}

void ForecasterTrainer::resume(const std::filesystem::path& path, uint64_t seed) {
  impl_->trainer.resume(path, seed);
}

ForecasterWeights ForecasterTrainer::weights(const std::string& name) const {
  return training::forecaster_from_parameters(impl_->layout, impl_->trainer.params(), name);
}

std::vector<float> forecast_windows_whole(const ForecasterWeights& weights,
                                          std::span<const float> windows, int64_t length,
                                          SsdVariant ssd, const ThreadingContext& threading,
                                          int64_t per_pass) {
  const ForecasterShape& shape = weights.shape;
  const int64_t window = length * shape.input_dim;
  if (length < 1 || per_pass < 1 || windows.size() % static_cast<size_t>(window) != 0) {
    throw Error("windows", "expected [batch, " + std::to_string(length) + ", " +
                               std::to_string(shape.input_dim) + "] values");
  }
  const ParameterLayout layout(weights.backbone.config, shape);
  const std::vector<float> params = training::parameters_from_forecaster<float>(layout, weights);
  const auto batch = static_cast<int64_t>(windows.size()) / window;
  std::vector<float> out(static_cast<size_t>(batch * shape.outputs()));
  // One model per pass size: the last pass may be shorter.
  std::unique_ptr<training::TrainingModel<float>> model;
  for (int64_t b0 = 0; b0 < batch; b0 += per_pass) {
    const int64_t n = std::min(per_pass, batch - b0);
    if (!model || model->batch() != n) {
      model = std::make_unique<training::TrainingModel<float>>(layout, n, length, ssd);
    }
    threading.execute([&] {
      model->forward(params.data(),
                     training::ForecastBatch<float>{windows.subspan(b0 * window, n * window), {}},
                     threading);
    });
    std::copy(model->forecasts().begin(), model->forecasts().end(),
              out.begin() + b0 * shape.outputs());
  }
  return out;
}

}  // namespace mamba2
