// mamba2-bench's flags take lists, as llama-bench's do: every combination of the values becomes
// one test row. Numbers use llama-bench's syntax, comma-separated items that are each `first`,
// `first-last` (step 1), `first-last+step` or `first-last*factor`, so `-p 16,64,512`,
// `-t 1-4` and `-p 16-4096*4` all work; names (types, scans) are plain comma lists.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mamba2::apps {

// The most values one flag may expand to: a typo such as `-p 1-16777216` is refused rather than
// queued as sixteen million tests.
constexpr size_t kMaxListValues = 1024;

// Expands `text` to its values, in order, each within [min, max]. Throws Error naming `flag`
// (one line) for anything else: an empty list or item, a sign, a range whose last is below its
// first, a step that does not move (`+0`, `*1`, `0-8*2`), a value out of range or too many values.
// A trailing comma is allowed, as llama-bench allows it.
std::vector<int64_t> parse_int_list(std::string_view text, std::string_view flag, int64_t min,
                                    int64_t max);

// "f32,bf16" -> {"f32", "bf16"}; throws Error naming `flag` for an empty list or item.
std::vector<std::string> parse_name_list(std::string_view text, std::string_view flag);

// Every occurrence of a flag adds its values (`-p 16 -p 64` is `-p 16,64`, as in llama-bench);
// no occurrence gives `fallback`.
std::vector<int64_t> parse_int_lists(const std::vector<std::string>& occurrences,
                                     std::string_view flag, int64_t min, int64_t max,
                                     std::vector<int64_t> fallback);
std::vector<std::string> parse_name_lists(const std::vector<std::string>& occurrences,
                                          std::string_view flag, std::vector<std::string> fallback);

}  // namespace mamba2::apps
