#include "runtime/engine/mixer.h"

namespace mamba2 {

std::unique_ptr<Mixer> make_mixer(const ModelConfig& config, const PreparedWeights& weights,
                                  const ThreadingContext& threading) {
  if (config.architecture == Architecture::kMamba1) {
    return make_mamba1_mixer(config, weights, threading);
  }
  return make_mamba2_mixer(config, weights, threading);
}

}  // namespace mamba2
