// mamba2-forecast eval: the model and three baselines forecast every origin of a held-out tail,
// scored by MSE, MAE and MASE (MAE over the in-sample MAE of the seasonal naive forecast on the
// part before the tail, per column, then averaged).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace mamba2::apps {

struct Scores {
  std::string method;
  double mse = 0, mae = 0, mase = 0;
};

// The targets [rows, columns]; forecasts from origin t (rows before t known) for steps
// [horizon, columns].
struct TailProblem {
  std::span<const float> targets;
  int64_t rows = 0, columns = 0;
  int64_t first_origin = 0;  // the tail starts here; origins run to rows - horizon
  int64_t horizon = 0;
  int64_t season = 1;
  int64_t context = 0;  // rows the linear baseline fits
};

using Forecast = std::function<std::vector<float>(int64_t origin)>;

Scores score(const TailProblem& problem, const std::string& method, const Forecast& forecast);

// The last value; the value one season before; a least-squares line over `context` rows.
std::vector<float> naive_forecast(const TailProblem& problem, int64_t origin);
std::vector<float> seasonal_naive_forecast(const TailProblem& problem, int64_t origin);
std::vector<float> linear_forecast(const TailProblem& problem, int64_t origin);

// The table: one row per method, fixed-width columns.
std::string format_scores(const std::vector<Scores>& rows);

}  // namespace mamba2::apps
