// Sampler settings by name, for --flags, /set and saved conversations: each walks the declaration
// in SamplerSettings::for_each.
#include "mamba2/sampler_settings.h"

#include <charconv>
#include <cmath>
#include <string>
#include <type_traits>

#include "mamba2/error.h"

namespace mamba2 {
namespace {

template <class T>
T parse_number(std::string_view name, std::string_view text) {
  T value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    throw Error(std::string(name), "expected a number, found '" + std::string(text) + "'");
  }
  return value;
}

template <class T>
void check_range(std::string_view name, const SettingSpec<T>& spec, T value) {
  if constexpr (std::is_floating_point_v<T>) {
    if (!std::isfinite(value)) throw Error(std::string(name), "must be finite");
  }
  if (value < spec.low || value > spec.high) {
    throw Error(std::string(name), "must be between " + format_setting(spec.low) + " and " +
                                       format_setting(spec.high));
  }
}

// "top-k" and "top_k" name the same setting.
std::string normalize(std::string_view name) {
  std::string out(name);
  for (char& c : out) c = c == '-' ? '_' : c;
  return out;
}

}  // namespace

void set_sampler_setting(SamplerSettings& s, std::string_view name, std::string_view value) {
  const std::string key = normalize(name);
  bool found = false;
  SamplerSettings::for_each(s, [&](auto& field, const auto& spec) {
    if (found || (key != spec.name && key != spec.json_name)) return;
    const auto parsed = parse_number<std::remove_cvref_t<decltype(field)>>(name, value);
    check_range(name, spec, parsed);
    field = parsed;
    found = true;
  });
  if (!found) {
    throw Error(std::string(name), "unknown sampler setting (" + sampler_setting_names() + ")");
  }
}

void check_sampler_settings(const SamplerSettings& s) {
  SamplerSettings::for_each(
      s, [](const auto& field, const auto& spec) { check_range(spec.name, spec, field); });
}

std::string describe_sampler_settings(const SamplerSettings& s) {
  std::string line;
  SamplerSettings::for_each(s, [&](const auto& field, const auto& spec) {
    line += (line.empty() ? "" : ", ") + std::string(spec.name) + " = " + format_setting(field);
  });
  return line;
}

std::string sampler_setting_names() {
  const SamplerSettings defaults;
  std::string names;
  SamplerSettings::for_each(defaults, [&](const auto&, const auto& spec) {
    names += (names.empty() ? "" : ", ") + std::string(spec.name);
  });
  return names;
}

}  // namespace mamba2
