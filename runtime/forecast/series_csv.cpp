#include "mamba2/series_csv.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <optional>

#include "mamba2/error.h"

namespace mamba2 {
namespace {

constexpr size_t kMaxFileBytes = size_t{1} << 30;

// Fields a header may name: a time axis and a forecaster's widest input, 2^20 columns. A header
// of a billion commas would otherwise become a billion strings.
constexpr size_t kMaxColumns = (size_t{1} << 20) + 1;

// One record's fields: commas separate, double quotes quote (a doubled quote is a literal one).
// Fields past the first `limit` are counted in `count`, not stored.
struct Record {
  std::vector<std::string> fields;
  size_t count = 1;
};

// Returns nullopt for an unterminated quote.
std::optional<Record> split_fields(std::string_view line, size_t limit) {
  Record record;
  std::string* field = &record.fields.emplace_back();  // null past `limit`
  const auto append = [&](char c) {
    if (field) *field += c;
  };
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c != '"') {
        append(c);
      } else if (i + 1 < line.size() && line[i + 1] == '"') {
        append('"');
        ++i;
      } else {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      field = ++record.count <= limit ? &record.fields.emplace_back() : nullptr;
    } else {
      append(c);
    }
  }
  if (quoted) return std::nullopt;
  return record;
}

std::string_view trim(std::string_view text) {
  const size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

bool is_missing(std::string_view cell) {
  return cell.empty() || cell == "NA" || cell == "NaN" || cell == "nan" || cell == "null";
}

// The next line of `text` from `pos` without its line ending; false at the end.
bool next_line(std::string_view text, size_t& pos, std::string_view& line) {
  if (pos >= text.size()) return false;
  size_t end = text.find('\n', pos);
  if (end == std::string_view::npos) end = text.size();
  line = text.substr(pos, end - pos);
  if (line.ends_with('\r')) line.remove_suffix(1);
  pos = end + 1;
  return true;
}

// Fills the NaN cells of column `c` by linear interpolation; returns how many.
int64_t fill_linear(SeriesTable& table, size_t c, const std::string& where) {
  const auto n = static_cast<size_t>(table.columns.size());
  auto at = [&](int64_t r) -> float& { return table.values[static_cast<size_t>(r) * n + c]; };
  int64_t previous = -1, filled = 0;
  for (int64_t r = 0; r <= table.rows; ++r) {
    if (r < table.rows && std::isnan(at(r))) continue;
    if (r == table.rows && previous < 0) {
      throw Error(where, "column '" + table.columns[c] + "' has no values");
    }
    for (int64_t gap = previous + 1; gap < r; ++gap, ++filled) {
      if (previous < 0) {
        at(gap) = at(r);
      } else if (r == table.rows) {
        at(gap) = at(previous);
      } else {
        const float w = static_cast<float>(gap - previous) / static_cast<float>(r - previous);
        at(gap) = at(previous) + w * (at(r) - at(previous));
      }
    }
    previous = r;
  }
  return filled;
}

}  // namespace

SeriesTable parse_series_csv(std::string_view text, const std::vector<std::string>& columns,
                             MissingCells missing, const std::string& where) {
  size_t pos = 0;
  std::string_view line;
  if (text.starts_with("\xEF\xBB\xBF")) pos = 3;  // a UTF-8 byte order mark
  if (!next_line(text, pos, line)) throw Error(where, "is empty: expected a header line");
  const auto header = split_fields(line, kMaxColumns);
  if (!header) throw Error(where, "line 1: unterminated quote");
  if (header->count > kMaxColumns) {
    throw Error(where, "line 1 has " + std::to_string(header->count) + " fields, more than " +
                           std::to_string(kMaxColumns));
  }
  std::vector<std::string> names;
  for (const std::string& name : header->fields) names.emplace_back(trim(name));

  SeriesTable table;
  std::vector<size_t> picked;
  if (columns.empty()) {
    for (size_t i = 1; i < names.size(); ++i) picked.push_back(i);
    if (picked.empty()) throw Error(where, "has one column only; name the value columns");
  }
  for (const std::string& column : columns) {
    size_t i = 0;
    while (i < names.size() && names[i] != column) ++i;
    if (i == names.size()) throw Error(where, "has no column '" + column + "'");
    picked.push_back(i);
  }
  for (size_t i : picked) table.columns.push_back(names[i]);

  int64_t line_number = 1;
  while (next_line(text, pos, line)) {
    ++line_number;
    if (trim(line).empty()) continue;
    const auto record = split_fields(line, names.size());
    // Error texts only: not built for the cells that parse.
    const auto at = [&] { return "line " + std::to_string(line_number); };
    if (!record) throw Error(where, at() + ": unterminated quote");
    if (record->count != names.size()) {
      throw Error(where, at() + " has " + std::to_string(record->count) + " fields, the header " +
                             std::to_string(names.size()));
    }
    for (size_t i : picked) {
      const std::string_view cell = trim(record->fields[i]);
      const auto cell_at = [&] { return at() + ", column '" + names[i] + "'"; };
      if (is_missing(cell)) {
        if (missing == MissingCells::kRefuse) {
          throw Error(where, cell_at() + ": missing value (--fill linear interpolates)");
        }
        table.values.push_back(std::nanf(""));
        continue;
      }
      float value = 0;
      const char* end = cell.data() + cell.size();
      const auto [stop, ec] =
          std::from_chars(cell.data() + (cell.starts_with('+') ? 1 : 0), end, value);
      if (ec != std::errc() || stop != end || !std::isfinite(value)) {
        throw Error(where, cell_at() + ": '" + std::string(cell.substr(0, 40)) +
                               "' is not a finite number");
      }
      table.values.push_back(value);
    }
    ++table.rows;
  }
  if (table.rows == 0) throw Error(where, "has no data rows");
  if (missing == MissingCells::kLinear) {
    for (size_t c = 0; c < table.columns.size(); ++c) table.filled += fill_linear(table, c, where);
  }
  return table;
}

SeriesTable read_series_csv(const std::filesystem::path& path,
                            const std::vector<std::string>& columns, MissingCells missing) {
  const std::string where = path.string();
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    throw Error(where, "no such file or directory");
  }
  if (std::filesystem::file_size(path, error) > kMaxFileBytes) {
    throw Error(where, "is larger than 1 GiB");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(where, "cannot open");
  const std::string text(std::istreambuf_iterator<char>(in), {});
  return parse_series_csv(text, columns, missing, where);
}

}  // namespace mamba2
