// --plot: the history and the forecast of each target column drawn by gnuplot, the plotting tool
// users already have (Debian: gnuplot-nox), as SVG or PNG by the file's extension.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace mamba2::apps {

struct PlotSeries {
  std::vector<std::string> columns;
  std::span<const float> history;   // [history_rows, columns], ends just before the forecast
  std::span<const float> forecast;  // [horizon, columns]
  std::span<const float> actual;    // [horizon, columns] where known, else empty
};

// Throws Error naming --plot when gnuplot is missing or fails.
void plot_forecast(const PlotSeries& series, const std::string& path);

}  // namespace mamba2::apps
