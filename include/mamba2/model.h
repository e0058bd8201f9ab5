// A loaded model ready for inference: the weights as the file holds them, plus the few tensors the
// engine wants in another layout, prepared once. Immutable and shared by any number of Sessions,
// which may run on different threads (the one thing they add to it is the scan that
// ScanMode::kAuto measured fastest, behind a lock).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>

#include "mamba2/config.h"
#include "mamba2/model_weights.h"
#include "mamba2/threading_context.h"

namespace mamba2 {

struct PreparedWeights;  // runtime/engine/prepared_weights.h
class ScanChoices;       // runtime/engine/scan_choice.h

class Model {
 public:
  // Preparing rearranges or converts some weights (q8_0, q4_0, q4_K for AVX512-VNNI, f16) in
  // `threading`: seconds for a large model, so `progress` hears after each layer (layers done,
  // layers).
  using PrepareProgress = std::function<void(int64_t done, int64_t total)>;
  explicit Model(ModelWeights weights, const PrepareProgress& progress = {},
                 const ThreadingContext& threading = ThreadingContext());
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelConfig& config() const { return weights_.config; }
  // The weights as loaded, except the matrices that preparing rearranged in place (q8_0, q4_0
  // and q4_K on AVX512-VNNI CPUs, bf16 on AMX CPUs, when the model alone holds their bytes):
  // their views keep type and shape but hold the prepared layout.
  const ModelWeights& weights() const { return weights_; }
  const PreparedWeights& prepared() const { return *prepared_; }
  // What ScanMode::kAuto measured on this model so far, for every session of it.
  ScanChoices& scan_choices() const { return *scan_choices_; }
  // model_fingerprint (mamba2/conversation_state.h), taken before preparing.
  uint64_t fingerprint() const { return fingerprint_; }

 private:
  ModelWeights weights_;
  uint64_t fingerprint_;
  std::unique_ptr<const PreparedWeights> prepared_;
  std::unique_ptr<ScanChoices> scan_choices_;
};

}  // namespace mamba2
