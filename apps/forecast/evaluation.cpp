#include "forecast/evaluation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "mamba2/error.h"

namespace mamba2::apps {

std::vector<float> naive_forecast(const TailProblem& p, int64_t origin) {
  std::vector<float> out(static_cast<size_t>(p.horizon * p.columns));
  for (int64_t h = 0; h < p.horizon; ++h) {
    for (int64_t c = 0; c < p.columns; ++c) {
      out[h * p.columns + c] = p.targets[(origin - 1) * p.columns + c];
    }
  }
  return out;
}

std::vector<float> seasonal_naive_forecast(const TailProblem& p, int64_t origin) {
  std::vector<float> out(static_cast<size_t>(p.horizon * p.columns));
  for (int64_t h = 0; h < p.horizon; ++h) {
    const int64_t row = origin - p.season + h % p.season;  // the same phase, one season back
    for (int64_t c = 0; c < p.columns; ++c) {
      out[h * p.columns + c] = p.targets[std::max<int64_t>(row, 0) * p.columns + c];
    }
  }
  return out;
}

std::vector<float> linear_forecast(const TailProblem& p, int64_t origin) {
  const int64_t n = std::min(p.context, origin);
  std::vector<float> out(static_cast<size_t>(p.horizon * p.columns));
  for (int64_t c = 0; c < p.columns; ++c) {
    // y = a + b x over x = 0..n-1 (the rows origin-n .. origin-1), in double.
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double y = p.targets[(origin - n + i) * p.columns + c];
      sx += double(i), sy += y, sxx += double(i) * double(i), sxy += double(i) * y;
    }
    const double denominator = double(n) * sxx - sx * sx;
    const double b = denominator > 0 ? (double(n) * sxy - sx * sy) / denominator : 0.0;
    const double a = (sy - b * sx) / double(n);
    for (int64_t h = 0; h < p.horizon; ++h) {
      out[h * p.columns + c] = static_cast<float>(a + b * double(n + h));
    }
  }
  return out;
}

Scores score(const TailProblem& p, const std::string& method, const Forecast& forecast) {
  const int64_t last_origin = p.rows - p.horizon;
  if (p.first_origin < std::max<int64_t>(p.season, 1) + 1 || p.first_origin > last_origin) {
    throw Error("eval", "the series is too short for a held-out tail of " +
                            std::to_string(p.rows - p.first_origin) + " rows and horizon " +
                            std::to_string(p.horizon));
  }
  std::vector<double> abs_sum(static_cast<size_t>(p.columns)), scale(abs_sum.size());
  double squared = 0;
  int64_t count = 0;
  for (int64_t origin = p.first_origin; origin <= last_origin; ++origin) {
    const std::vector<float> f = forecast(origin);
    for (int64_t h = 0; h < p.horizon; ++h) {
      for (int64_t c = 0; c < p.columns; ++c) {
        const double error =
            double(f[h * p.columns + c]) - double(p.targets[(origin + h) * p.columns + c]);
        squared += error * error;
        abs_sum[c] += std::abs(error);
      }
    }
    count += p.horizon;
  }
  Scores s{method, squared / double(count * p.columns), 0, 0};
  for (int64_t c = 0; c < p.columns; ++c) {
    // In-sample seasonal naive MAE on the rows before the tail.
    double in_sample = 0;
    for (int64_t r = p.season; r < p.first_origin; ++r) {
      in_sample += std::abs(double(p.targets[r * p.columns + c]) -
                            double(p.targets[(r - p.season) * p.columns + c]));
    }
    in_sample /= double(p.first_origin - p.season);
    const double mae = abs_sum[c] / double(count);
    s.mae += mae / double(p.columns);
    s.mase += (in_sample > 0 ? mae / in_sample : INFINITY) / double(p.columns);
  }
  return s;
}

std::string format_scores(const std::vector<Scores>& rows) {
  std::string out;
  char line[160];
  std::snprintf(line, sizeof line, "%-26s %12s %12s %8s\n", "method", "MSE", "MAE", "MASE");
  out += line;
  for (const Scores& s : rows) {
    std::snprintf(line, sizeof line, "%-26s %12.5g %12.5g %8.3f\n", s.method.c_str(), s.mse, s.mae,
                  s.mase);
    out += line;
  }
  return out;
}

}  // namespace mamba2::apps
