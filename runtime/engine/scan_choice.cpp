#include "runtime/engine/scan_choice.h"

#include <algorithm>
#include <bit>

namespace mamba2 {

std::optional<ScanMode> ScanChoices::find(const ScanChoiceKey& key) const {
  const std::lock_guard lock(mutex_);
  const auto found = choices_.find(key);
  if (found == choices_.end()) return std::nullopt;
  return found->second;
}

ScanMode ScanChoices::record(const ScanChoiceKey& key, ScanMode choice) {
  const std::lock_guard lock(mutex_);
  return choices_.try_emplace(key, choice).first->second;
}

int64_t calibration_piece_chunks(int64_t chunks, int64_t max_piece_chunks) {
  const int64_t fit = std::min(max_piece_chunks, (chunks - 1) / 4);
  if (fit < 2) return 0;
  return static_cast<int64_t>(std::bit_floor(static_cast<uint64_t>(fit)));
}

ScanMode faster_scan(double chunked_seconds, double associative_seconds) {
  return associative_seconds < chunked_seconds ? ScanMode::kAssociative : ScanMode::kChunked;
}

}  // namespace mamba2
