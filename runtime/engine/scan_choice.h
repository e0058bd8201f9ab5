// ScanMode::kAuto picks chunked or associative prefill by measuring them, once per machine,
// model, thread count and prompt size class, on the first prompt long enough to measure.
//
// The measurement runs the prompt's first chunks as
//   [1 chunk chunked, untimed: pages in the weights and warms both paths' buffers]
//   [p chunks chunked][p chunks associative][p chunks associative][p chunks chunked]
// each piece continuing the state of the one before; then the session's state is put back and
// the whole prompt runs with the faster scan. The two scans round differently: throwing the
// pieces away makes the prompt's bits those of the scan chosen, whichever process measured. The
// A B B A order cancels a load that rises or falls steadily during the measurement. p, the piece
// size in chunks, is the largest power of two <= min(window, (n - 1) / 4): pieces as long as
// the associative window (where its parallel prefix has the most chunks) when the prompt allows.
// Prompts too short for p >= 2 run chunked, or what an earlier measurement chose for that class.
// Recurrent prefill is never a candidate: it reads every weight once per token.
//
// The choice is kept for the model's sessions and in the machine's file of timed choices
// (runtime/io/timed_choices.h), so that every process on the machine scans a model's prompts
// alike and measures once.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>

#include "mamba2/session.h"

namespace mamba2 {

// What a measurement is valid for: the same thread count, chunk, window and piece size.
struct ScanChoiceKey {
  int threads;
  int64_t chunk;
  int64_t window;  // SessionOptions::window_chunks as given (0: the defaults)
  int64_t piece_chunks;

  auto operator<=>(const ScanChoiceKey&) const = default;
};

// The choices measured on one Model, shared by its sessions (thread-safe).
class ScanChoices {
 public:
  // `model` names the model in the machine's file of timed choices (its fingerprint); empty, the
  // choices live in this object only.
  explicit ScanChoices(std::string model = {});

  // This object's choice for `key`, else the file's.
  std::optional<ScanMode> find(const ScanChoiceKey& key) const;
  // Keeps the first choice recorded for a key, in this process (sessions measuring at the same
  // time agree on it) or in the file (processes measuring at the same time agree on it), and
  // returns the one kept.
  ScanMode record(const ScanChoiceKey& key, ScanMode choice);

 private:
  std::string file_key(const ScanChoiceKey& key) const;

  std::string model_;
  mutable std::mutex mutex_;
  mutable std::map<ScanChoiceKey, ScanMode> choices_;
};

// The calibration piece in chunks for a prompt of `chunks` whole chunks, or 0 when the prompt is
// too short to measure (fewer than 9 chunks).
int64_t calibration_piece_chunks(int64_t chunks, int64_t max_piece_chunks);

// The scan to keep, given the seconds each took on the same pieces: the faster; chunked on a tie.
ScanMode faster_scan(double chunked_seconds, double associative_seconds);

}  // namespace mamba2
