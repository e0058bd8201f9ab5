// mamba2-chat: talk to a Mamba-2 model. An interactive REPL on a terminal; a scripted session when
// stdin is a pipe; one reply with -p TEXT (or --ids for models without a tokenizer).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "apps/chat/chat_session.h"
#include "apps/chat/interrupt.h"
#include "apps/chat/line_reader.h"
#include "apps/chat/repl.h"
#include "apps/common/cli.h"
#include "apps/common/load_progress.h"
#include "mamba2/error.h"
#include "mamba2/model_loader.h"

namespace {

using namespace mamba2;

std::string history_path() {
  const char* home = std::getenv("HOME");
  return home != nullptr && *home != '\0' ? std::string(home) + "/.mamba2_chat_history" : "";
}

std::string join_ids(const std::vector<int32_t>& ids) {
  std::string line;
  for (size_t i = 0; i < ids.size(); ++i) line += (i ? " " : "") + std::to_string(ids[i]);
  return line;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Chat with a Mamba-2 model: an interactive REPL, or one reply with -p / --ids",
               "mamba2-chat"};
  std::string model_path, prompt, ids_text, template_name = "plain";
  chat::ChatSettings settings;
  // Sampler flags are checked by set_sampler_setting once parsing is done, so their errors are
  // the same one-line errors as /set's.
  std::vector<std::pair<std::string, std::string>> sampler_flags;
  bool seed_given = false, print_ids = false, verbose = false;
  int threads = 0;
  int64_t max_tokens = -1;

  app.add_option("MODEL", model_path, "GGUF file or model directory")->required();
  app.add_option("-n,--n-predict", max_tokens, "tokens per reply at most (-1: no limit)")
      ->check(CLI::Range(int64_t{-1}, int64_t{1} << 40));
  const std::pair<const char*, const char*> sampler_options[] = {
      {"--temp", "temperature; 0 is greedy (default 0.8)"},
      {"--top-k", "keep the k most likely tokens; 0 is off (default 40)"},
      {"--top-p", "keep the most likely tokens up to this probability (default 0.95)"},
      {"--min-p", "drop tokens below this fraction of the best one's probability (default 0.05)"},
      {"--repeat-penalty", "penalize recent tokens; 1 is off (default 1)"},
      {"--presence-penalty", "subtract from recent tokens' logits (default 0)"},
      {"--frequency-penalty", "subtract per recent occurrence (default 0)"},
      {"--repeat-last-n", "recent tokens the penalties look at (default 64)"},
  };
  for (const auto& [flag, help] : sampler_options) {
    const std::string name = std::string(flag).substr(2);
    app.add_option_function<std::string>(
           flag,
           [&sampler_flags, name](const std::string& value) {
             sampler_flags.emplace_back(name, value);
           },
           help)
        ->type_name("NUMBER");
  }
  app.add_option_function<std::string>(
         "--seed",
         [&](const std::string& value) {
           sampler_flags.emplace_back("seed", value);
           seed_given = true;
         },
         "random seed; the same seed gives the same text (default: random)")
      ->type_name("INT");
  app.add_option("--stop", settings.stops, "end a reply at this text (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--template", template_name,
                 "plain (default), chatml, mistral, or auto (the model's own chat template)");
  app.add_option("--system", settings.system, "system text, prefilled once and kept for /reset");
  auto* prompt_option = app.add_option("-p,--prompt", prompt, "print one reply to TEXT and exit");
  auto* ids_option =
      app.add_option("--ids", ids_text, "print one reply to token ids 1,2,3 and exit");
  ids_option->excludes(prompt_option);
  app.add_flag("--print-ids", print_ids, "end the reply with its token ids on the last line");
  app.add_option("-t,--threads", threads, "threads (default: all cores)")
      ->check(CLI::Range(0, 1024));
  app.add_flag("--verbose", verbose, "print timings at the end");

  return apps::run_app(app, argc, argv, [&] {
    chat::install_interrupt_handler();
    for (const auto& [name, value] : sampler_flags) {
      set_sampler_setting(settings.sampler, name, value);
    }
    if (!seed_given) settings.sampler.seed = std::random_device{}();
    // "auto" needs the model's chat template; any other name is checked before the load.
    if (template_name != "auto") settings.template_kind = parse_chat_template(template_name);
    settings.max_tokens = max_tokens;

    const auto load_start = std::chrono::steady_clock::now();
    apps::LoadProgress progress("mamba2-chat");
    const auto model = load_model(model_path, progress.callback());
    const double load_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
    if (template_name == "auto") {
      const auto& tokenizer = model->weights().tokenizer;
      const ChatTemplateChoice choice =
          choose_chat_template(template_name, tokenizer ? &*tokenizer : nullptr);
      if (!choice.notice.empty())
        std::fprintf(stderr, "mamba2-chat: note: %s\n", choice.notice.c_str());
      settings.template_kind = choice.kind;
    }
    SessionOptions options;
    options.threads = threads;
    chat::ChatSession session(model, options, settings);

    int exit_code = 0;
    if (!prompt.empty() || !ids_text.empty()) {
      const chat::ReplyResult reply =
          !ids_text.empty() ? session.reply_to_ids(apps::parse_ids(ids_text, "--ids"), stdout)
                            : session.reply_to_text(prompt, stdout);
      std::fputs("\n", stdout);
      if (print_ids && session.has_tokenizer()) std::printf("%s\n", join_ids(reply.ids).c_str());
    } else {
      const bool interactive = isatty(STDIN_FILENO) != 0;
      std::unique_ptr<chat::LineReader> reader =
          interactive ? chat::make_edit_reader("mamba2-chat", history_path())
                      : chat::make_plain_reader();
      if (interactive) {
        std::fprintf(stderr, "mamba2-chat: %s loaded; /help for commands, Ctrl-D to quit\n",
                     model->weights().name.c_str());
      }
      exit_code = chat::run_repl(session, *reader, interactive);
    }
    std::fflush(stdout);
    if (verbose) {
      std::fprintf(stderr, "load: %.3f s\nseed: %llu\n", load_seconds,
                   static_cast<unsigned long long>(session.sampler().settings().seed));
      chat::print_stats(session.stats(), stderr);
    }
    return exit_code;
  });
}
