// The read-eval-print loop: messages go to the model, lines starting with '/' are commands.
#pragma once

#include "chat/chat_session.h"
#include "chat/line_reader.h"

namespace mamba2::chat {

// Returns the exit code. When `interactive` is false (stdin is a pipe or file), a failing command
// (e.g. /load of a damaged file) ends the session with exit code 1 so scripts notice; on a
// terminal it prints the error and carries on.
int run_repl(ChatSession& session, LineReader& reader, bool interactive);

// Prints the /stats numbers to `out`.
void print_stats(const ChatStats& stats, std::FILE* out);

}  // namespace mamba2::chat
