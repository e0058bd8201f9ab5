// Where the REPL's lines come from: libedit with history when stdin is a terminal, plain reads
// when it is a pipe or a file (so scripts can drive a whole session).
#pragma once

#include <memory>
#include <string>

namespace mamba2::chat {

enum class ReadStatus {
  kLine,         // a line (without its newline)
  kInterrupted,  // Ctrl-C at the prompt
  kEnd,          // Ctrl-D or end of input
};

class LineReader {
 public:
  virtual ~LineReader() = default;
  virtual ReadStatus read(const char* prompt, std::string& line) = 0;
  virtual void remember(const std::string& line) = 0;  // add to the history
};

// Reads stdin directly, without line editing; prints no prompt.
std::unique_ptr<LineReader> make_plain_reader();
// libedit on the terminal, with emacs keys and a history file (kept when it can be written).
std::unique_ptr<LineReader> make_edit_reader(const char* program, std::string history_path);

}  // namespace mamba2::chat
