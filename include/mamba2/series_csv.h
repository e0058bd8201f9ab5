// Numeric columns of a CSV file, read as untrusted input: the header names the columns, every row
// must have as many fields, and every chosen cell must be a finite number. A missing cell (empty,
// NA, NaN) is an error unless the caller asks for linear filling. Each problem is one Error naming
// the file, the line and the column; nothing is ever passed on as NaN.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace mamba2 {

enum class MissingCells {
  kRefuse,  // an Error naming the first missing cell
  kLinear,  // interpolated between the nearest known values; the nearest one at either end
};

struct SeriesTable {
  std::vector<std::string> columns;  // the chosen columns, in the order asked for
  int64_t rows = 0;
  std::vector<float> values;  // [rows, columns] row-major
  int64_t filled = 0;         // cells filled by kLinear
};

// `columns` empty: every column after the first (the time or date axis in the usual files).
// Throws Error("<where>: ...") for a missing column, a ragged row, a cell that is not a number,
// a missing cell under kRefuse, a column with no value at all, or a file without data rows.
SeriesTable parse_series_csv(std::string_view text, const std::vector<std::string>& columns,
                             MissingCells missing, const std::string& where);
SeriesTable read_series_csv(const std::filesystem::path& path,
                            const std::vector<std::string>& columns, MissingCells missing);

}  // namespace mamba2
