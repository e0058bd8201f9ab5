// The CSV series reader on hostile input: each problem is one Error, and a line's field count is
// bounded before its fields are stored.
#include "mamba2/series_csv.h"

#include <gtest/gtest.h>

#include "tests/runtime/formats/format_test_util.h"

namespace mamba2 {
namespace {

TEST(SeriesCsv, RefusesAHeaderOfMoreFieldsThanAForecasterReads) {
  // A time axis and 2^20 + 1 value columns.
  const std::string row = std::string((size_t{1} << 20) + 1, ',') + "\n";
  const std::string text = "t" + row + "0" + row;
  EXPECT_ERROR_MENTIONS(parse_series_csv(text, {}, MissingCells::kRefuse, "wide.csv"),
                        "wide.csv: line 1 has 1048578 fields, more than 1048577");
}

TEST(SeriesCsv, CountsTheFieldsOfARowLongerThanTheHeader) {
  EXPECT_ERROR_MENTIONS(
      parse_series_csv("t,v\n1,2\n3,4,\"5,6\",7\n", {}, MissingCells::kRefuse, "ragged.csv"),
      "ragged.csv: line 3 has 4 fields, the header 2");
}

TEST(SeriesCsv, NamesTheLineAndColumnOfABadCell) {
  EXPECT_ERROR_MENTIONS(parse_series_csv("t,v\n1,2\n2,x\n", {}, MissingCells::kRefuse, "bad.csv"),
                        "bad.csv: line 3, column 'v': 'x' is not a finite number");
  EXPECT_ERROR_MENTIONS(parse_series_csv("t,v\n1,\n", {}, MissingCells::kRefuse, "gap.csv"),
                        "gap.csv: line 2, column 'v': missing value");
}

}  // namespace
}  // namespace mamba2
