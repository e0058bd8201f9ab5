// What every front end shares: one-line errors with exit code 1, and CLI11 parsing that prints
// help normally but a parse error as a single line.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mamba2::apps {

// Runs body; a mamba2::Error, CLI11 error or other exception becomes
// "<program>: error: <message>" on one line of stderr and exit code 1.
int run_app(CLI::App& app, int argc, char** argv, const std::function<int()>& body);

// Refuses an output path whose directory does not exist or is not writable, or that names a
// directory, before any work is done: the tools write their outputs last, and failing then
// would throw the work away.
void check_output_path(const std::string& path, const std::string& flag);

// The bytes of a file, or of stdin for "" or "-"; more than 1 GiB (what the tokenizers take at
// most) is refused. Throws Error naming the file.
std::string read_input(const std::string& file);

// "1,2,3" or "1 2 3" -> ids; throws Error naming the flag for anything else.
std::vector<int32_t> parse_ids(const std::string& text, const std::string& flag);

}  // namespace mamba2::apps
