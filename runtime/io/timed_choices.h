// Choices that timing made (which f32 GEMM runs a K, which scan a long prompt takes), kept in a
// file so that every process on a machine makes the same ones. The candidates round differently;
// timing them afresh in each process let two runs of one command on a busy machine give
// different bits (a chat saved twice, two outputs of one seed). The first process to need a
// choice times the candidates and writes the result; the others read it. Like FFTW's wisdom, the
// file is a cache: delete it to time again.
//
// The file holds lines "<key>\t<value>", each key naming what the timing depends on (the machine,
// the model, the shape), so one file serves every build, CPU and model a home directory meets. It
// is read as untrusted: lines that do not parse, and values the caller does not accept, are
// dropped.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "mamba2/function_ref.h"

namespace mamba2 {

using TimedChoices = std::map<std::string, std::string, std::less<>>;  // key -> value

// The well-formed lines of a file's text (a key and a value, neither empty), at most
// kMaxTimedChoices of them.
TimedChoices parse_timed_choices(std::string_view text);
std::string format_timed_choices(const TimedChoices& choices);
constexpr size_t kMaxTimedChoices = 4096;

// `text` with tabs and line breaks made spaces: a key or value the file can hold.
std::string timed_choice_text(std::string text);

// "$MAMBA2_CACHE_DIR/timed-choices", else under $XDG_CACHE_HOME/mamba2 or ~/.cache/mamba2;
// nullopt where none of these is set.
std::optional<std::filesystem::path> default_timed_choices_file();

// The value `file` records for `key` where accept() takes it; nullopt otherwise.
std::optional<std::string> find_timed_choice(const std::filesystem::path& file,
                                             std::string_view key,
                                             FunctionRef<bool(std::string_view)> accept);

// The value `file` records for `key` (where accept() takes it), else decide()'s, recorded.
// Processes sharing the file agree: the lookup, decide() and the write hold an exclusive lock on
// "<file>.lock". Where the file's directory cannot be made or written, or another process holds
// the lock for more than two seconds, decide()'s answer is returned unrecorded.
std::string find_or_record_timed_choice(const std::filesystem::path& file, std::string_view key,
                                        FunctionRef<bool(std::string_view)> accept,
                                        FunctionRef<std::string()> decide);

}  // namespace mamba2
