#include "mamba2/model.h"

#include <cstdio>
#include <string>

#include "runtime/engine/model_fingerprint.h"
#include "runtime/engine/prepared_weights.h"
#include "runtime/engine/scan_choice.h"

namespace mamba2 {
namespace {

std::string fingerprint_text(uint64_t fingerprint) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(fingerprint));
  return text;
}

}  // namespace

Model::Model(ModelWeights weights, const PrepareProgress& progress,
             const ThreadingContext& threading)
    : weights_(std::move(weights)),
      fingerprint_(weights_fingerprint(weights_)),
      prepared_(PreparedWeights::prepare(weights_, progress, threading)),
      scan_choices_(std::make_unique<ScanChoices>(fingerprint_text(fingerprint_))) {}

Model::~Model() = default;

}  // namespace mamba2
