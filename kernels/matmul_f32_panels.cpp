#include "kernels/matmul_f32_panels.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "kernels/aligned_vector.h"
#include "kernels/matmul.h"
#include "kernels/simd.h"
#include "kernels/timing_machine.h"
#include "mamba2/error.h"
#include "runtime/io/timed_choices.h"

namespace mamba2::kernels {
namespace {

// The shape each path is timed on: a prefill call's tokens (a chunk of a long prompt is 256; 128
// keeps the probe short) against up to this many rows of the real K.
constexpr int64_t kProbeTokens = 128;
constexpr int64_t kProbeRows = 256;
constexpr int kProbeRounds = 5;

// Seconds of the fastest of kProbeRounds calls of matmul_f32 on `args`, after one to warm up.
double fastest_call(const MatmulOperands& args) {
  double best = 1e30;
  for (int round = 0; round <= kProbeRounds; ++round) {
    const auto start = std::chrono::steady_clock::now();
    matmul_f32(args, 0, args.n());
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    if (round > 0) best = std::min(best, took.count());
  }
  return best;
}

F32GemmPath measure(int64_t n, int64_t k) {
  const int64_t rows = std::min(n, kProbeRows);
  std::vector<float> x(static_cast<size_t>(kProbeTokens * k));  // [T, K]
  std::vector<float> w(static_cast<size_t>(rows * k));          // [rows, K]
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 17) * 0.01f - 0.08f;
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i % 13) * 0.01f - 0.06f;
  AlignedVector<float> panels(static_cast<size_t>(f32_panels_floats(rows, k)));
  pack_f32_panels(w.data(), rows, k, 0, rows, panels.data());
  std::vector<float> y(static_cast<size_t>(kProbeTokens * rows));  // [T, rows]
  MatmulOperands args{.x = {x.data(), kProbeTokens, k, k},
                      .w = WeightView::f32(w.data(), rows, k),
                      .y = {y.data(), kProbeTokens, rows, rows}};
  const double blas = fastest_call(args);
  args.w = {DType::kF32, reinterpret_cast<const std::byte*>(panels.data()), rows, k,
            WeightLayout::kF32Panels16};
  const double own = fastest_call(args);
  return own < blas ? F32GemmPath::kPanels : F32GemmPath::kOpenBlas;
}

struct Choices {
  std::mutex mutex;
  std::map<int64_t, F32GemmPath> by_k;
};

Choices& choices() {
  static Choices instance;
  return instance;
}

}  // namespace

int64_t f32_panels_floats(int64_t n, int64_t k) {
  return (n + kF32PanelRows - 1) / kF32PanelRows * kF32PanelRows * k;
}

void pack_f32_panels(const float* w, int64_t n, int64_t k, int64_t n_begin, int64_t n_end,
                     float* panels) {
  if (n < 0 || k < 0 || n_begin < 0 || n_begin % kF32PanelRows != 0 || n_end > n ||
      (n_end % kF32PanelRows != 0 && n_end != n)) {
    throw Error("pack_f32_panels", "rows [" + std::to_string(n_begin) + ", " +
                                       std::to_string(n_end) + ") of a [" + std::to_string(n) +
                                       ", " + std::to_string(k) + "] weight are not whole panels");
  }
  for (int64_t row0 = n_begin; row0 < n_end; row0 += kF32PanelRows) {
    float* panel = panels + row0 * k;  // [K, 16]
    for (int64_t r = 0; r < kF32PanelRows; ++r) {
      const float* row = row0 + r < n ? w + (row0 + r) * k : nullptr;  // [K]
      for (int64_t i = 0; i < k; ++i) panel[i * kF32PanelRows + r] = row ? row[i] : 0.0f;
    }
  }
}

std::span<const PathInfo<F32GemmPath>> path_table(F32GemmPath) {
  static constexpr PathInfo<F32GemmPath> kTable[] = {
      {F32GemmPath::kOpenBlas, "openblas sgemm", any_cpu},
      {F32GemmPath::kPanels, "panels", any_cpu},
  };
  return kTable;
}

F32GemmPath f32_gemm_path(int64_t n, int64_t k) {
  std::optional<F32GemmPath> forced;
  if (const char* env = std::getenv("MAMBA2_F32_GEMM")) {
    const std::string_view value(env);
    if (value == "blas") forced = F32GemmPath::kOpenBlas;
    if (value == "own") forced = F32GemmPath::kPanels;
  }
  Choices& all = choices();
  std::lock_guard lock(all.mutex);
  auto found = all.by_k.find(k);
  if (forced && (found == all.by_k.end() || found->second != *forced)) {
    all.by_k[k] = *forced;
    return *forced;
  }
  if (found != all.by_k.end()) return found->second;
  const auto decide = [&] { return n > 0 && k > 0 ? measure(n, k) : F32GemmPath::kOpenBlas; };
  const std::optional<std::filesystem::path> file = default_timed_choices_file();
  const F32GemmPath path =
      file ? *path_named<F32GemmPath>(find_or_record_timed_choice(
                 *file, timing_machine_key() + " | f32 GEMM, K " + std::to_string(k),
                 [](std::string_view name) { return path_named<F32GemmPath>(name).has_value(); },
                 [&] { return std::string(path_name(decide())); }))
           : decide();
  all.by_k.emplace(k, path);
  return path;
}

std::string f32_gemm_paths_chosen() {
  Choices& all = choices();
  std::lock_guard lock(all.mutex);
  bool panels = false, blas = false;
  for (const auto& [k, path] : all.by_k) (path == F32GemmPath::kPanels ? panels : blas) = true;
  std::string out;
  if (panels) out = "panels " + std::string(path_name(simd_level()));
  if (blas) out += std::string(panels ? " + " : "") + "openblas sgemm";
  return out;
}

}  // namespace mamba2::kernels
