#include "forecast/series.h"

#include <algorithm>
#include <cmath>

#include "mamba2/error.h"

namespace mamba2::apps {
namespace {

std::string count_of(size_t n) { return std::to_string(n) + (n == 1 ? " column" : " columns"); }

// The named columns of `table` [rows, names].
std::vector<float> select(const SeriesTable& table, const std::vector<std::string>& names) {
  std::vector<size_t> index;
  for (const std::string& name : names) {
    index.push_back(static_cast<size_t>(
        std::find(table.columns.begin(), table.columns.end(), name) - table.columns.begin()));
  }
  std::vector<float> out;
  out.reserve(static_cast<size_t>(table.rows) * names.size());
  for (int64_t r = 0; r < table.rows; ++r) {
    for (size_t i : index) out.push_back(table.values[r * table.columns.size() + i]);
  }
  return out;
}

// Reads the inputs `s.input_columns` (every column after the first when empty) and the targets
// `s.target_columns` (the inputs when empty and `targets_default_to_inputs`) in one read.
void read_columns(Series& s, const std::string& csv, MissingCells missing,
                  bool targets_default_to_inputs) {
  std::vector<std::string> wanted = s.input_columns;
  if (!wanted.empty()) {
    for (const std::string& name : s.target_columns) {
      if (std::find(wanted.begin(), wanted.end(), name) == wanted.end()) wanted.push_back(name);
    }
  }
  const SeriesTable table = read_series_csv(csv, wanted, missing);
  if (s.input_columns.empty()) s.input_columns = table.columns;
  if (s.target_columns.empty() && targets_default_to_inputs) s.target_columns = s.input_columns;
  for (const std::string& name : s.target_columns) {
    if (std::find(table.columns.begin(), table.columns.end(), name) == table.columns.end()) {
      throw Error(csv, "has no column '" + name + "'");
    }
  }
  s.rows = table.rows;
  s.inputs = select(table, s.input_columns);
  s.targets = select(table, s.target_columns);
}

}  // namespace

MissingCells parse_fill(const std::string& fill) {
  if (fill == "none") return MissingCells::kRefuse;
  if (fill == "linear") return MissingCells::kLinear;
  throw Error("--fill", "expected none or linear, not '" + fill + "'");
}

Series read_series(const ForecasterWeights& model, const std::string& csv,
                   const std::vector<std::string>& columns, const std::vector<std::string>& target,
                   MissingCells missing) {
  Series s;
  s.input_columns = !columns.empty() ? columns : model.input_columns;
  s.target_columns = !target.empty() ? target : model.output_columns;
  read_columns(s, csv, missing, model.shape.output_dim == model.shape.input_dim);
  const auto check = [](const std::vector<std::string>& names, int64_t width, const char* flag) {
    if (static_cast<int64_t>(names.size()) != width) {
      throw Error(flag, "the model reads " + count_of(static_cast<size_t>(width)) + ", given " +
                            count_of(names.size()));
    }
  };
  check(s.input_columns, model.shape.input_dim, "--columns");
  check(s.target_columns, model.shape.output_dim, "--target");
  to_model_units(model.input_scaling, s.inputs);
  return s;
}

Series read_training_series(const std::string& csv, const std::vector<std::string>& columns,
                            const std::vector<std::string>& target, MissingCells missing) {
  Series s;
  s.input_columns = columns;
  s.target_columns = target;
  read_columns(s, csv, missing, true);
  return s;
}

SeriesScaling fit_scaling(std::span<const float> values, int64_t columns, int64_t rows) {
  SeriesScaling scaling;
  for (int64_t c = 0; c < columns; ++c) {
    double sum = 0, squares = 0;
    for (int64_t r = 0; r < rows; ++r) sum += values[r * columns + c];
    const double mean = sum / double(rows);
    for (int64_t r = 0; r < rows; ++r) {
      const double v = values[r * columns + c] - mean;
      squares += v * v;
    }
    const double std = std::sqrt(squares / double(rows));
    scaling.mean.push_back(static_cast<float>(mean));
    scaling.scale.push_back(std > 0 && std::isfinite(std) ? static_cast<float>(std) : 1.0f);
  }
  return scaling;
}

void to_model_units(const SeriesScaling& scaling, std::vector<float>& values) {
  if (scaling.empty()) return;
  const size_t n = scaling.mean.size();
  for (size_t i = 0; i < values.size(); ++i) {
    values[i] = (values[i] - scaling.mean[i % n]) / scaling.scale[i % n];
  }
}

void from_model_units(const SeriesScaling& scaling, std::vector<float>& values) {
  if (scaling.empty()) return;
  const size_t n = scaling.mean.size();
  for (size_t i = 0; i < values.size(); ++i) {
    values[i] = values[i] * scaling.scale[i % n] + scaling.mean[i % n];
  }
}

}  // namespace mamba2::apps
