// The sampler's settings, each declared once in SamplerSettings::for_each with its name, default,
// valid range and help (as gemma.cpp declares its arguments in ArgsBase::ForEach). The command-line
// flags, /set, the checks, the saved conversation file and the help texts all walk that list; an
// HTTP front end would read each setting from the request field `json_name`.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace mamba2 {

// One setting's declaration; T is its field's type.
template <class T>
struct SettingSpec {
  const char* name;       // for /set NAME and the listing; the flag is --NAME with '-' for '_'
  const char* json_name;  // the field of an OpenAI-style request (llama-server's names); /set too
  T default_value;
  T low, high;  // the valid range, both included
  const char* help;
  const char* default_help = nullptr;  // what help shows instead of default_value
};

struct SamplerSettings {
  float temp;               // <= 0: greedy (argmax, lowest id on ties)
  int32_t top_k;            // <= 0: off
  float top_p;              // >= 1: off
  float min_p;              // <= 0: off
  float repeat_penalty;     // 1: off; divides positive logits, multiplies negative ones
  float presence_penalty;   // subtracted once from every recent token's logit
  float frequency_penalty;  // subtracted per occurrence in the window
  int32_t penalty_last_n;   // recent tokens the penalties look at; 0: off
  uint64_t seed;

  SamplerSettings() {
    for_each(*this, [](auto& field, const auto& spec) { field = spec.default_value; });
  }
  bool operator==(const SamplerSettings&) const = default;

  // Calls visit(field, spec) for every setting of `s` (const or not). The order is the saved
  // conversation file's: a new setting goes at the end, with a new file version. The
  // defaults are llama-cli's.
  template <class Settings, class Visitor>
  static void for_each(Settings& s, Visitor&& visit) {
    visit(s.temp, SettingSpec<float>{"temp", "temperature", 0.8f, 0.0f, 100.0f,
                                     "temperature; 0 is greedy"});
    visit(s.top_k, SettingSpec<int32_t>{"top_k", "top_k", 40, 0, 1 << 30,
                                        "keep the k most likely tokens; 0 is off"});
    visit(s.top_p, SettingSpec<float>{"top_p", "top_p", 0.95f, 0.0f, 1.0f,
                                      "keep the most likely tokens up to this probability"});
    visit(s.min_p,
          SettingSpec<float>{"min_p", "min_p", 0.05f, 0.0f, 1.0f,
                             "drop tokens below this fraction of the best one's probability"});
    visit(s.repeat_penalty, SettingSpec<float>{"repeat_penalty", "repeat_penalty", 1.0f, 0.01f,
                                               100.0f, "penalize recent tokens; 1 is off"});
    visit(s.presence_penalty,
          SettingSpec<float>{"presence_penalty", "presence_penalty", 0.0f, -100.0f, 100.0f,
                             "subtract from recent tokens' logits"});
    visit(s.frequency_penalty,
          SettingSpec<float>{"frequency_penalty", "frequency_penalty", 0.0f, -100.0f, 100.0f,
                             "subtract per recent occurrence"});
    visit(s.penalty_last_n, SettingSpec<int32_t>{"repeat_last_n", "repeat_last_n", 64, 0, 1 << 20,
                                                 "recent tokens the penalties look at"});
    // Front ends draw a seed when none is given; a settings object alone starts at 0.
    visit(s.seed,
          SettingSpec<uint64_t>{"seed", "seed", 0, 0, UINT64_MAX,
                                "random seed; the same seed gives the same text", "random"});
  }
};

// Sets one setting by its name or JSON name ("top-k" and "top_k" alike) from text. Throws Error
// naming `name` for an unknown name, text that is not a number, or a value out of range.
void set_sampler_setting(SamplerSettings& settings, std::string_view name, std::string_view value);
// Throws Error naming the first setting that is not finite or out of its range.
void check_sampler_settings(const SamplerSettings& settings);
// "temp = 0.8, top_k = 40, ..." for /set without arguments and --verbose.
std::string describe_sampler_settings(const SamplerSettings& settings);
// "temp, top_k, ..., seed": the names /set takes.
std::string sampler_setting_names();

// A setting's value as help and listings show it: the shortest text that reads back the same.
template <class T>
std::string format_setting(T value) {
  char text[32];
  return std::string(text, std::to_chars(text, text + sizeof text, value).ptr);
}

}  // namespace mamba2
