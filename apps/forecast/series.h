// The series a forecaster reads from a CSV file: which columns are its inputs and its targets,
// and the model's units. A trained model remembers its columns and scalings; a mamba2-jax model
// takes the columns it is given as they are.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "mamba2/forecaster.h"
#include "mamba2/series_csv.h"

namespace mamba2::apps {

struct Series {
  std::vector<std::string> input_columns;   // [input_dim]
  std::vector<std::string> target_columns;  // [output_dim]
  int64_t rows = 0;
  std::vector<float> inputs;   // [rows, input_dim] in model units
  std::vector<float> targets;  // [rows, output_dim] as the file has them
};

// Inputs: `columns`, else the model's, else every column after the first. Targets: `target`, else
// the model's, else the inputs. Throws Error when the counts do not fit the model, and for
// anything read_series_csv refuses.
Series read_series(const ForecasterWeights& model, const std::string& csv,
                   const std::vector<std::string>& columns, const std::vector<std::string>& target,
                   MissingCells missing);

// --fill: "none" (missing cells are an error) or "linear".
MissingCells parse_fill(const std::string& fill);

// For training, before there is a model: inputs `columns`, else every column after the first;
// targets `target`, else the inputs. Inputs stay in the file's units.
Series read_training_series(const std::string& csv, const std::vector<std::string>& columns,
                            const std::vector<std::string>& target, MissingCells missing);

// Per column of values [rows, columns]: the mean and the population standard deviation of the
// first `rows` rows (1 for a constant column, which then only shifts).
SeriesScaling fit_scaling(std::span<const float> values, int64_t columns, int64_t rows);

// values [rows, columns] in place: (value - mean) / scale, or back.
void to_model_units(const SeriesScaling& scaling, std::vector<float>& values);
void from_model_units(const SeriesScaling& scaling, std::vector<float>& values);

}  // namespace mamba2::apps
