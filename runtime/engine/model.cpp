#include "mamba2/model.h"

#include "runtime/engine/model_fingerprint.h"
#include "runtime/engine/prepared_weights.h"
#include "runtime/engine/scan_choice.h"

namespace mamba2 {

Model::Model(ModelWeights weights, const PrepareProgress& progress,
             const ThreadingContext& threading)
    : weights_(std::move(weights)),
      fingerprint_(weights_fingerprint(weights_)),
      prepared_(PreparedWeights::prepare(weights_, progress, threading)),
      scan_choices_(std::make_unique<ScanChoices>()) {}

Model::~Model() = default;

}  // namespace mamba2
