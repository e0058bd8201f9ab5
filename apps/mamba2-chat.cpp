// mamba2-chat: talk to a Mamba-2 or Mamba-1 model. An interactive REPL on a terminal; a scripted
// session when stdin is a pipe; one reply with -p TEXT (or --ids for models without a tokenizer).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "chat/chat_session.h"
#include "chat/interrupt.h"
#include "chat/line_reader.h"
#include "chat/repl.h"
#include "chat/sampler_flags.h"
#include "common/cli.h"
#include "common/load_progress.h"
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
  CLI::App app{
      "Chat with a Mamba-2 or Mamba-1 model: an interactive REPL, or one reply with -p / --ids",
      "mamba2-chat"};
  std::string model_path, prompt, ids_text, conversation_path, template_name = "plain";
  chat::ChatSettings settings;
  std::vector<std::pair<std::string, std::string>> sampler_flags;
  bool print_ids = false, print_prompt_ids = false, verbose = false, no_reuse = false;
  int threads = 0;
  int64_t max_tokens = -1;

  app.add_option("MODEL", model_path, "GGUF file or model directory")->required();
  app.add_option("-n,--n-predict", max_tokens, "tokens per reply at most (-1: no limit)")
      ->check(CLI::Range(int64_t{-1}, int64_t{1} << 40));
  chat::add_sampler_flags(app, sampler_flags);
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
  auto* conversation_option = app.add_option(
      "--conversation", conversation_path,
      "start from these messages (JSON, as mamba2-tokenize --chat reads); a last user message is "
      "replied to first");
  conversation_option->excludes(ids_option);
  app.add_flag("--print-prompt-ids", print_prompt_ids,
               "after each reply, print to stderr the ids of its whole prompt (the conversation "
               "rendered anew) and how many were restored from a kept state or prefilled");
  app.add_flag("--no-state-reuse", no_reuse,
               "prefill every turn's whole prompt from the start (to compare with the reuse)");
  app.add_option("-t,--threads", threads, "threads (default: all cores)")
      ->check(CLI::Range(0, 1024));
  app.add_flag("--verbose", verbose, "print timings at the end");

  return apps::run_app(app, argc, argv, [&] {
    chat::install_interrupt_handler();
    for (const auto& [name, value] : sampler_flags) {
      set_sampler_setting(settings.sampler, name, value);
    }
    // The declared default of --seed is "random".
    if (app.count("--seed") == 0) settings.sampler.seed = std::random_device{}();
    // "auto" needs the model's chat template; any other name is checked before the load.
    if (template_name != "auto") settings.template_kind = parse_chat_template(template_name);
    settings.max_tokens = max_tokens;
    settings.reuse_states = !no_reuse;
    if (print_prompt_ids) settings.prompt_log = stderr;

    const auto load_start = std::chrono::steady_clock::now();
    apps::LoadProgress progress("mamba2-chat");
    const ThreadingContext threading(threads);
    const auto model = load_model(model_path, progress.callback(), threading);
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
    options.threading = threading;
    chat::ChatSession session(model, options, settings);

    int exit_code = 0;
    if (!conversation_path.empty()) {
      std::vector<ChatMessage> messages =
          parse_chat_messages(apps::read_input(conversation_path), conversation_path);
      // A last user message is replied to now, unless -p adds another after it.
      std::optional<std::string> last_user;
      if (prompt.empty() && !messages.empty() && messages.back().role == "user") {
        last_user = messages.back().content;
        messages.pop_back();
      }
      session.set_messages(std::move(messages));
      if (last_user) {
        const chat::ReplyResult reply = session.reply_to_text(*last_user, stdout);
        std::fputs("\n", stdout);
        if (print_ids) std::printf("%s\n", join_ids(reply.ids).c_str());
        std::fflush(stdout);
      }
    }
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
