#include "mamba2/error.h"
#include "mamba2/training.h"
#include "runtime/training/parameters.h"
#include "runtime/training/trainer.h"

namespace mamba2 {

using training::ParameterLayout;

struct LanguageModelTrainer::Impl {
  Impl(const ModelConfig& config, const std::string& where, TrainerOptions options,
       const std::function<std::vector<float>(const ParameterLayout&)>& initial)
      : layout(checked(config, where)),
        trainer(layout, initial(layout), options.optimizer, options.batch, options.seq_len,
                std::move(options.threading)) {}

  static const ModelConfig& checked(const ModelConfig& config, const std::string& where) {
    training::check_trainable_config(config, where);
    return config;
  }

  ParameterLayout layout;
  training::Trainer trainer;
};

LanguageModelTrainer::LanguageModelTrainer(const ModelConfig& config, uint64_t seed,
                                           TrainerOptions options, const std::string& where)
    : impl_(std::make_unique<Impl>(config, where, std::move(options),
                                   [seed](const ParameterLayout& layout) {
                                     return training::init_parameters(layout, seed);
                                   })) {}

LanguageModelTrainer::LanguageModelTrainer(const ModelWeights& weights, TrainerOptions options,
                                           const std::string& where)
    : impl_(std::make_unique<Impl>(
          weights.config, where, std::move(options), [&weights](const ParameterLayout& layout) {
            return training::parameters_from_weights<float>(layout, weights);
          })) {}

LanguageModelTrainer::~LanguageModelTrainer() = default;

TrainingStep LanguageModelTrainer::step(std::span<const int32_t> tokens) {
  return impl_->trainer.step(tokens);
}

int64_t LanguageModelTrainer::steps_done() const { return impl_->trainer.optimizer().step(); }

void LanguageModelTrainer::save_checkpoint(const std::filesystem::path& path, uint64_t seed) const {
  impl_->trainer.save_checkpoint(path, seed);
}

void LanguageModelTrainer::resume(const std::filesystem::path& path, uint64_t seed) {
  impl_->trainer.resume(path, seed);
}

ModelWeights LanguageModelTrainer::weights(const std::string& name,
                                           std::optional<TokenizerData> tokenizer) const {
  return training::weights_from_parameters(impl_->layout, impl_->trainer.params(), name,
                                           std::move(tokenizer));
}

}  // namespace mamba2
