// The series a forecaster reads from a CSV file: which columns are its inputs and its targets,
// and the model's units. A trained model remembers its columns and scalings; a mamba2-jax model
// takes the columns it is given as they are.
#pragma once

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

// values [rows, columns] in place: (value - mean) / scale, or back.
void to_model_units(const SeriesScaling& scaling, std::vector<float>& values);
void from_model_units(const SeriesScaling& scaling, std::vector<float>& values);

}  // namespace mamba2::apps
