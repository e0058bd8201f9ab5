#include "chat/sampler_flags.h"

#include <type_traits>

#include "mamba2/sampler_settings.h"

namespace mamba2::chat {

void add_sampler_flags(CLI::App& app, std::vector<std::pair<std::string, std::string>>& given) {
  const SamplerSettings defaults;
  SamplerSettings::for_each(defaults, [&](const auto& field, const auto& spec) {
    std::string name = spec.name;
    for (char& c : name) c = c == '_' ? '-' : c;
    // "(default 0.8)", but "(default: random)" for words, as the other flags write them.
    const std::string shown = spec.default_help != nullptr
                                  ? std::string(": ") + spec.default_help
                                  : " " + format_setting(spec.default_value);
    app.add_option_function<std::string>(
           "--" + name,
           [&given, name](const std::string& value) { given.emplace_back(name, value); },
           std::string(spec.help) + " (default" + shown + ")")
        ->type_name(std::is_floating_point_v<std::remove_cvref_t<decltype(field)>> ? "NUMBER"
                                                                                   : "INT");
  });
}

}  // namespace mamba2::chat
