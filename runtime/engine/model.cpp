#include "mamba2/model.h"

#include "runtime/engine/prepared_weights.h"

namespace mamba2 {

Model::Model(ModelWeights weights)
    : weights_(std::move(weights)), prepared_(PreparedWeights::prepare(weights_)) {}

Model::~Model() = default;

}  // namespace mamba2
