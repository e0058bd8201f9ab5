#include "forecast/plot.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "mamba2/error.h"

namespace mamba2::apps {
namespace {

// Steps are numbered from the first history row; the forecast starts at history_rows.
void write_block(std::string& script, const char* name, std::span<const float> values,
                 int64_t columns, int64_t first_step) {
  script += std::string("$") + name + " << EOD\n";
  const int64_t rows = static_cast<int64_t>(values.size()) / columns;
  char cell[48];
  for (int64_t r = 0; r < rows; ++r) {
    script += std::to_string(first_step + r);
    for (int64_t c = 0; c < columns; ++c) {
      std::snprintf(cell, sizeof cell, " %.9g", values[r * columns + c]);
      script += cell;
    }
    script += '\n';
  }
  script += "EOD\n";
}

std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Whether `program` is an executable file in a directory of $PATH.
bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "";
  while (!dirs.empty()) {
    const size_t colon = std::min(dirs.find(':'), dirs.size());
    const std::string candidate = std::string(dirs.substr(0, colon)) + "/" + program;
    if (colon > 0 && access(candidate.c_str(), X_OK) == 0) return true;
    dirs.remove_prefix(std::min(colon + 1, dirs.size()));
  }
  return false;
}

}  // namespace

void plot_forecast(const PlotSeries& s, const std::string& path) {
  const auto columns = static_cast<int64_t>(s.columns.size());
  const int64_t history_rows = static_cast<int64_t>(s.history.size()) / columns;
  const bool png = path.ends_with(".png");
  std::string script =
      png ? "set terminal pngcairo size 1000,320*" : "set terminal svg size 1000,320*";
  script += std::to_string(columns) + "\nset output " + quoted(path) + "\n";
  script += "set multiplot layout " + std::to_string(columns) + ",1\nset key left top\n";
  write_block(script, "history", s.history, columns, 0);
  write_block(script, "forecast", s.forecast, columns, history_rows);
  if (!s.actual.empty()) write_block(script, "actual", s.actual, columns, history_rows);
  for (int64_t c = 0; c < columns; ++c) {
    const std::string column = std::to_string(c + 2);
    script += "set title " + quoted(s.columns[c]) + " noenhanced\n";
    script += "plot $history using 1:" + column +
              " with lines title 'history', $forecast using 1:" + column +
              " with linespoints title 'forecast'";
    if (!s.actual.empty()) script += ", $actual using 1:" + column + " with lines title 'actual'";
    script += "\n";
  }
  script += "unset multiplot\n";

  if (!on_path("gnuplot")) {
    throw Error("--plot", "needs gnuplot on the PATH (Debian: apt install gnuplot-nox)");
  }
  std::FILE* pipe = popen("gnuplot 1>&2", "w");
  if (!pipe) throw Error("--plot", "cannot run gnuplot");
  std::fwrite(script.data(), 1, script.size(), pipe);
  const int status = pclose(pipe);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw Error("--plot", "gnuplot failed to draw " + path);
  }
}

}  // namespace mamba2::apps
