// The sampler's command-line flags (--temp, --top-k, ...), one per declared setting, with its help
// and default from the declaration.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <utility>
#include <vector>

namespace mamba2::chat {

// Each flag given appends (name, text) to `given`: set_sampler_setting checks them once parsing
// is done, so their errors are the same one-line errors as /set's.
void add_sampler_flags(CLI::App& app, std::vector<std::pair<std::string, std::string>>& given);

}  // namespace mamba2::chat
