// Sampler settings by name, for --flags, /set and saved conversations.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>

#include "mamba2/error.h"
#include "mamba2/sampler.h"

namespace mamba2 {
namespace {

template <class T>
T parse_number(std::string_view name, std::string_view text) {
  T value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    throw Error(std::string(name), "expected a number, found '" + std::string(text) + "'");
  }
  if constexpr (std::is_floating_point_v<T>) {
    if (!std::isfinite(value)) throw Error(std::string(name), "must be finite");
  }
  return value;
}

template <class T>
T in_range(std::string_view name, T value, T low, T high) {
  if (value < low || value > high) {
    throw Error(std::string(name),
                "must be between " + std::to_string(low) + " and " + std::to_string(high));
  }
  return value;
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
  if (key == "temp" || key == "temperature") {
    s.temp = in_range(name, parse_number<float>(name, value), 0.0f, 100.0f);
  } else if (key == "top_k") {
    s.top_k = in_range(name, parse_number<int32_t>(name, value), 0, 1 << 30);
  } else if (key == "top_p") {
    s.top_p = in_range(name, parse_number<float>(name, value), 0.0f, 1.0f);
  } else if (key == "min_p") {
    s.min_p = in_range(name, parse_number<float>(name, value), 0.0f, 1.0f);
  } else if (key == "repeat_penalty") {
    s.repeat_penalty = in_range(name, parse_number<float>(name, value), 0.01f, 100.0f);
  } else if (key == "presence_penalty") {
    s.presence_penalty = in_range(name, parse_number<float>(name, value), -100.0f, 100.0f);
  } else if (key == "frequency_penalty") {
    s.frequency_penalty = in_range(name, parse_number<float>(name, value), -100.0f, 100.0f);
  } else if (key == "repeat_last_n" || key == "penalty_last_n") {
    s.penalty_last_n = in_range(name, parse_number<int32_t>(name, value), 0, 1 << 20);
  } else if (key == "seed") {
    s.seed = parse_number<uint64_t>(name, value);
  } else {
    throw Error(std::string(name),
                "unknown sampler setting (temp, top_k, top_p, min_p, repeat_penalty, "
                "presence_penalty, frequency_penalty, repeat_last_n, seed)");
  }
}

std::string describe_sampler_settings(const SamplerSettings& s) {
  char line[512];
  std::snprintf(
      line, sizeof line,
      "temp = %.3g, top_k = %d, top_p = %.3g, min_p = %.3g, repeat_penalty = %.3g, "
      "presence_penalty = %.3g, frequency_penalty = %.3g, repeat_last_n = %d, seed = %llu",
      s.temp, s.top_k, s.top_p, s.min_p, s.repeat_penalty, s.presence_penalty, s.frequency_penalty,
      s.penalty_last_n, static_cast<unsigned long long>(s.seed));
  return line;
}

}  // namespace mamba2
