#include "runtime/engine/scan_choice.h"

#include <algorithm>
#include <bit>
#include <filesystem>
#include <string_view>

#include "kernels/timing_machine.h"
#include "runtime/io/timed_choices.h"

namespace mamba2 {

namespace {

// The scans a file may name for a kAuto choice.
std::optional<ScanMode> measured_scan_named(std::string_view name) {
  const std::optional<ScanMode> mode = scan_mode_named(name);
  if (mode == ScanMode::kChunked || mode == ScanMode::kAssociative) return mode;
  return std::nullopt;
}

constexpr auto names_measured_scan = [](std::string_view name) {
  return measured_scan_named(name).has_value();
};

}  // namespace

ScanChoices::ScanChoices(std::string model) : model_(std::move(model)) {}

std::string ScanChoices::file_key(const ScanChoiceKey& key) const {
  return timed_choice_text(kernels::timing_machine_key() + " | model " + model_ +
                           " | scan, threads " + std::to_string(key.threads) + ", chunk " +
                           std::to_string(key.chunk) + ", window " + std::to_string(key.window) +
                           ", piece " + std::to_string(key.piece_chunks));
}

std::optional<ScanMode> ScanChoices::find(const ScanChoiceKey& key) const {
  const std::lock_guard lock(mutex_);
  if (const auto found = choices_.find(key); found != choices_.end()) return found->second;
  const std::optional<std::filesystem::path> file = default_timed_choices_file();
  if (model_.empty() || !file) return std::nullopt;
  const std::optional<std::string> name =
      find_timed_choice(*file, file_key(key), names_measured_scan);
  if (!name) return std::nullopt;
  return choices_.try_emplace(key, *measured_scan_named(*name)).first->second;
}

ScanMode ScanChoices::record(const ScanChoiceKey& key, ScanMode choice) {
  const std::lock_guard lock(mutex_);
  if (const auto found = choices_.find(key); found != choices_.end()) return found->second;
  const std::optional<std::filesystem::path> file = default_timed_choices_file();
  if (!model_.empty() && file) {
    choice = *measured_scan_named(
        find_or_record_timed_choice(*file, file_key(key), names_measured_scan,
                                    [&] { return std::string(scan_mode_name(choice)); }));
  }
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
