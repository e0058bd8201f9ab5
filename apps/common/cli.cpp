#include "apps/common/cli.h"

#include <charconv>
#include <cstdio>

#include "mamba2/error.h"

namespace mamba2::apps {

int run_app(CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
  const std::string program = app.get_name();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForAllHelp& help) {
    return app.exit(help);
  } catch (const CLI::ParseError& error) {
    std::fprintf(stderr, "%s: error: %s (see --help)\n", program.c_str(), error.what());
    return 1;
  }
  try {
    return body();
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s: error: %s\n", program.c_str(), error.what());
    return 1;
  }
}

std::vector<int32_t> parse_ids(const std::string& text, const std::string& flag) {
  std::vector<int32_t> ids;
  const char* cursor = text.data();
  const char* end = text.data() + text.size();
  while (cursor < end) {
    if (*cursor == ',' || *cursor == ' ') {
      ++cursor;
      continue;
    }
    int32_t id = 0;
    const auto [next, error] = std::from_chars(cursor, end, id);
    if (error != std::errc() || id < 0) {
      throw Error(flag, "expected token ids like 1,2,3, found '" + text + "'");
    }
    ids.push_back(id);
    cursor = next;
  }
  if (ids.empty()) throw Error(flag, "no token ids given");
  return ids;
}

}  // namespace mamba2::apps
