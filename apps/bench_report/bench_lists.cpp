#include "bench_report/bench_lists.h"

#include <charconv>

#include "mamba2/error.h"

namespace mamba2::apps {
namespace {

// A cursor over one list item; each read consumes what it parsed.
struct ItemReader {
  std::string_view text;
  std::string_view flag;
  std::string_view item;  // for messages

  [[noreturn]] void fail(const std::string& why) const {
    throw Error(std::string(flag), "'" + std::string(item) + "': " + why);
  }

  int64_t number(int64_t max) {
    int64_t value = 0;
    if (text.empty()) fail("expected first[-last[+step|*factor]] with non-negative whole numbers");
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (end == text.data() || text.front() == '-' || text.front() == '+') {
      fail("expected first[-last[+step|*factor]] with non-negative whole numbers");
    }
    if (error == std::errc::result_out_of_range || value > max) {
      fail("values must be at most " + std::to_string(max));
    }
    text.remove_prefix(static_cast<size_t>(end - text.data()));
    return value;
  }

  bool take(char c) {
    if (text.empty() || text.front() != c) return false;
    text.remove_prefix(1);
    return true;
  }
};

// The items of a comma list; a trailing comma ends the list, any other empty item is an error.
template <class Fn>
void for_each_item(std::string_view text, std::string_view flag, Fn&& fn) {
  if (text.empty()) throw Error(std::string(flag), "empty list");
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    if (item.empty()) throw Error(std::string(flag), "empty item in '" + std::string(text) + "'");
    fn(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
}

}  // namespace

std::vector<int64_t> parse_int_list(std::string_view text, std::string_view flag, int64_t min,
                                    int64_t max) {
  std::vector<int64_t> values;
  for_each_item(text, flag, [&](std::string_view item) {
    ItemReader reader{item, flag, item};
    const int64_t first = reader.number(max);
    int64_t last = first, step = 1;
    char op = '+';
    if (reader.take('-')) {
      last = reader.number(max);
      if (reader.take('+')) {
        step = reader.number(max);
      } else if (reader.take('*')) {
        op = '*';
        step = reader.number(max);
      }
    }
    if (!reader.text.empty()) reader.fail("unexpected '" + std::string(reader.text) + "'");
    if (last < first) reader.fail("the range is empty (last below first)");
    if (first < min) reader.fail("values must be at least " + std::to_string(min));
    for (int64_t value = first; value <= last;) {
      if (values.size() == kMaxListValues) {
        reader.fail("more than " + std::to_string(kMaxListValues) + " values");
      }
      values.push_back(value);
      // Both operands are at most max (< 2^62 for every flag), so neither overflows.
      const int64_t next = op == '+' ? value + step : value * step;
      if (next <= value) reader.fail("the step does not advance the range");
      value = next;
    }
  });
  return values;
}

std::vector<std::string> parse_name_list(std::string_view text, std::string_view flag) {
  std::vector<std::string> names;
  for_each_item(text, flag, [&](std::string_view item) { names.emplace_back(item); });
  return names;
}

std::vector<int64_t> parse_int_lists(const std::vector<std::string>& occurrences,
                                     std::string_view flag, int64_t min, int64_t max,
                                     std::vector<int64_t> fallback) {
  if (occurrences.empty()) return fallback;
  std::vector<int64_t> values;
  for (const std::string& text : occurrences) {
    for (int64_t value : parse_int_list(text, flag, min, max)) {
      if (values.size() == kMaxListValues) {
        throw Error(std::string(flag), "more than " + std::to_string(kMaxListValues) + " values");
      }
      values.push_back(value);
    }
  }
  return values;
}

std::vector<std::string> parse_name_lists(const std::vector<std::string>& occurrences,
                                          std::string_view flag,
                                          std::vector<std::string> fallback) {
  if (occurrences.empty()) return fallback;
  std::vector<std::string> names;
  for (const std::string& text : occurrences) {
    for (std::string& name : parse_name_list(text, flag)) names.push_back(std::move(name));
  }
  return names;
}

}  // namespace mamba2::apps
