#include "chat/repl.h"

#include <cstdio>
#include <sstream>
#include <string>

#include "chat/interrupt.h"
#include "common/cli.h"
#include "mamba2/error.h"
#include "mamba2/sampler_settings.h"

namespace mamba2::chat {
namespace {

// `text` folded at spaces into lines of at most `width` characters, each after the first indented
// by `indent` spaces.
std::string fold(const std::string& text, size_t indent, size_t width) {
  std::string out, line;
  std::istringstream in(text);
  for (std::string word; in >> word;) {
    if (!line.empty() && indent + line.size() + 1 + word.size() > width) {
      out += line + "\n" + std::string(indent, ' ');
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  return out + line;
}

std::string help_text() {
  return "  type a message and press Enter; end a line with \\ to continue it on the next\n"
         "  (a model without a tokenizer takes token ids: 1,2,3 or 1 2 3)\n"
         "  /help              this text\n"
         "  /reset             start over (keeps the --system prefix, without recomputing it)\n"
         "  /save FILE         save the conversation: state, sampler settings, text so far\n"
         "  /load FILE         continue a saved conversation (same model only)\n"
         "  /set NAME VALUE    " +
         fold(sampler_setting_names() + "; /set alone lists them", 21, 88) +
         "\n"
         "  /stats             speed, first-token latency, tokens so far, state size\n"
         "  /quit              exit (also Ctrl-D; Ctrl-C stops a reply, twice at the prompt "
         "exits)\n";
}

// Reads one message, joining lines that end with a backslash.
ReadStatus read_message(LineReader& reader, bool interactive, std::string& message) {
  message.clear();
  std::string line;
  const char* prompt = interactive ? "> " : "";
  for (;;) {
    const ReadStatus status = reader.read(prompt, line);
    if (status == ReadStatus::kInterrupted) return status;
    if (status == ReadStatus::kEnd) return message.empty() ? status : ReadStatus::kLine;
    if (!line.empty() && line.back() == '\\') {
      line.pop_back();
      message += line + "\n";
      prompt = interactive ? "... " : "";
      continue;
    }
    message += line;
    return ReadStatus::kLine;
  }
}

// Splits "/cmd rest" into the command and its argument text.
std::pair<std::string, std::string> split_command(const std::string& line) {
  const size_t space = line.find(' ');
  if (space == std::string::npos) return {line, ""};
  const size_t rest = line.find_first_not_of(' ', space);
  return {line.substr(0, space), rest == std::string::npos ? "" : line.substr(rest)};
}

enum class CommandResult { kContinue, kQuit };

CommandResult run_command(ChatSession& session, const std::string& line) {
  const auto [command, argument] = split_command(line);
  if (command == "/help") {
    std::fputs(help_text().c_str(), stdout);
  } else if (command == "/quit" || command == "/exit") {
    return CommandResult::kQuit;
  } else if (command == "/reset") {
    session.reset();
    std::puts("(conversation reset)");
  } else if (command == "/save" || command == "/load") {
    if (argument.empty()) throw Error(command, "needs a file name");
    if (command == "/save") {
      session.save(argument);
      std::printf("(saved to %s)\n", argument.c_str());
    } else {
      session.load(argument);
      std::printf("(loaded %s)\n", argument.c_str());
    }
  } else if (command == "/set") {
    if (!argument.empty()) {
      std::istringstream words(argument);
      std::string name, value, extra;
      words >> name >> value >> extra;
      if (value.empty() || !extra.empty()) throw Error("/set", "usage: /set NAME VALUE");
      SamplerSettings settings = session.sampler().settings();
      set_sampler_setting(settings, name, value);
      session.sampler().set_settings(settings);
    }
    std::printf("%s\n", describe_sampler_settings(session.sampler().settings()).c_str());
  } else if (command == "/stats") {
    print_stats(session.stats(), stdout);
  } else {
    throw Error(command, "unknown command (see /help)");
  }
  std::fflush(stdout);
  return CommandResult::kContinue;
}

double per_second(int64_t tokens, double seconds) { return seconds > 0 ? tokens / seconds : 0.0; }

}  // namespace

void print_stats(const ChatStats& s, std::FILE* out) {
  std::fprintf(out, "prompt: %lld tokens prefilled, %.1f tokens/s; %lld restored from states\n",
               static_cast<long long>(s.prompt_tokens),
               per_second(s.prompt_tokens, s.prompt_seconds),
               static_cast<long long>(s.reused_tokens));
  if (!s.last_turn.prompt.empty()) {
    std::fprintf(out, "last turn: %zu prompt tokens (%lld prefilled), first token after %.3f s\n",
                 s.last_turn.prompt.size(), static_cast<long long>(s.last_turn.prefilled),
                 s.last_turn.first_token_seconds);
  }
  std::fprintf(out, "generation: %lld tokens, %.1f tokens/s\n",
               static_cast<long long>(s.generated_tokens),
               per_second(s.generated_tokens, s.generation_seconds));
  std::fprintf(out, "tokens so far: %lld\n", static_cast<long long>(s.tokens_so_far));
  std::fprintf(out, "state size: %lld bytes (constant, whatever the length), %lld more kept\n",
               static_cast<long long>(s.state_bytes),
               static_cast<long long>(s.state_bytes * s.snapshots));
}

int run_repl(ChatSession& session, LineReader& reader, bool interactive) {
  bool interrupted_last = false;
  std::string message;
  for (;;) {
    clear_interrupt();
    const ReadStatus status = read_message(reader, interactive, message);
    if (status == ReadStatus::kEnd) break;
    if (status == ReadStatus::kInterrupted) {
      if (interrupted_last) break;
      if (interactive) std::fputs("(Ctrl-C again or Ctrl-D to quit)\n", stdout);
      interrupted_last = true;
      continue;
    }
    interrupted_last = false;
    if (message.empty()) continue;
    reader.remember(message);
    try {
      if (message.front() == '/') {
        if (run_command(session, message) == CommandResult::kQuit) break;
        continue;
      }
      const ReplyResult reply =
          session.has_tokenizer() ? session.reply_to_text(message, stdout)
                                  : session.reply_to_ids(apps::parse_ids(message, "input"), stdout);
      std::fputs("\n", stdout);
      std::fflush(stdout);
      if (reply.interrupted) {
        interrupted_last = true;
        if (interactive) std::fputs("(stopped)\n", stdout);
      }
    } catch (const Error& error) {
      std::fflush(stdout);
      std::fprintf(stderr, "mamba2-chat: error: %s\n", error.what());
      if (!interactive) return 1;
    }
  }
  if (interactive) std::fputs("\n", stdout);
  return 0;
}

}  // namespace mamba2::chat
