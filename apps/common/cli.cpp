#include "common/cli.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "mamba2/error.h"

namespace mamba2::apps {
namespace {

// The message on one line, whatever it holds: "<program>: error: <message>".
void print_error(const std::string& program, const std::string& message) {
  std::string line = message;
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  std::fprintf(stderr, "%s: error: %s\n", program.c_str(), line.c_str());
}

}  // namespace

int run_app(CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
  const std::string program = app.get_name();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForAllHelp& help) {
    return app.exit(help);
  } catch (const CLI::ParseError& error) {
    print_error(program, std::string(error.what()) + " (see --help)");
    return 1;
  }
  try {
    return body();
  } catch (const std::exception& error) {
    print_error(program, error.what());
    return 1;
  }
}

void check_output_path(const std::string& path, const std::string& flag) {
  namespace fs = std::filesystem;
  if (path.empty()) throw Error(flag, "the output path is empty");
  std::error_code error;
  if (fs::is_directory(path, error)) throw Error(path, "is a directory; give a file name");
  const fs::path parent = fs::path(path).parent_path();
  const fs::path directory = parent.empty() ? fs::path(".") : parent;
  if (!fs::is_directory(directory, error)) {
    throw Error(path, "the directory '" + directory.string() + "' does not exist");
  }
  // The output is written beside its final name and renamed into place: the directory must
  // take new files.
  if (::access(directory.c_str(), W_OK | X_OK) != 0) {
    throw Error(path, "cannot write in '" + directory.string() + "': " + std::strerror(errno));
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

namespace {

// The tokenizer refuses more than 1 GiB; reading stops one byte past that so it can say so.
constexpr size_t kMaxInputBytes = (size_t{1} << 30) + 1;

std::string read_stream(std::FILE* stream, const std::string& name) {
  std::string text;
  char buffer[1 << 16];
  size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, stream)) > 0) {
    text.append(buffer, got);
    if (text.size() > kMaxInputBytes) throw Error(name, "input is larger than 1 GiB");
  }
  if (std::ferror(stream)) throw Error(name, "cannot read");
  return text;
}

}  // namespace

std::string read_input(const std::string& file) {
  if (file.empty() || file == "-") return read_stream(stdin, "stdin");
  std::FILE* stream = std::fopen(file.c_str(), "rb");
  if (!stream) throw Error(file, "cannot open");
  try {
    std::string text = read_stream(stream, file);
    std::fclose(stream);
    return text;
  } catch (...) {
    std::fclose(stream);
    throw;
  }
}

}  // namespace mamba2::apps
