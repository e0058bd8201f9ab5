#include "chat/line_reader.h"

#include <histedit.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <clocale>
#include <csignal>
#include <cstdio>
#include <cwchar>

#include "chat/interrupt.h"

namespace mamba2::chat {
namespace {

class PlainReader : public LineReader {
 public:
  ReadStatus read(const char*, std::string& line) override {
    line.clear();
    for (;;) {
      const size_t newline = buffer_.find('\n');
      if (newline != std::string::npos) {
        line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        return ReadStatus::kLine;
      }
      if (at_end_) {
        if (buffer_.empty()) return ReadStatus::kEnd;
        line = std::move(buffer_);  // a last line without its newline
        buffer_.clear();
        return ReadStatus::kLine;
      }
      if (!wait_readable_or_interrupt(STDIN_FILENO)) return ReadStatus::kInterrupted;
      char chunk[4096];
      const ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        at_end_ = true;
        continue;
      }
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }
  void remember(const std::string&) override {}

 private:
  std::string buffer_;
  bool at_end_ = false;
};

// libedit asks for the prompt through a callback without a user pointer, so the current prompt
// lives here; there is only one terminal reader per process.
const char* g_prompt = "";
extern "C" char* current_prompt(EditLine*) { return const_cast<char*>(g_prompt); }

// libedit's key reader, replaced so Ctrl-C wakes it wherever the signal lands (see interrupt.h).
extern "C" int read_key(EditLine*, wchar_t* key) {
  std::mbstate_t state{};
  char bytes[MB_LEN_MAX];
  size_t count = 0;
  for (;;) {
    if (!wait_readable_or_interrupt(STDIN_FILENO)) {
      errno = EINTR;
      *key = L'\0';
      return -1;
    }
    const ssize_t got = ::read(STDIN_FILENO, bytes + count, 1);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      *key = L'\0';
      return got == 0 ? 0 : -1;
    }
    const size_t used = std::mbrtowc(key, bytes + count, 1, &state);
    ++count;
    if (used == static_cast<size_t>(-2) && count < sizeof bytes) continue;  // more bytes to come
    if (used == static_cast<size_t>(-1) || used == static_cast<size_t>(-2)) {
      *key = static_cast<unsigned char>(bytes[0]);  // not a character here: pass the byte on
    }
    return 1;
  }
}

class EditReader : public LineReader {
 public:
  EditReader(const char* program, std::string history_path)
      : history_path_(std::move(history_path)) {
    std::setlocale(LC_CTYPE, "");  // libedit reads and shows UTF-8 only in a UTF-8 locale
    editor_ = el_init(program, stdin, stdout, stderr);
    history_ = history_init();
    HistEvent event;
    history(history_, &event, H_SETSIZE, 1000);
    history(history_, &event, H_SETUNIQUE, 1);
    if (!history_path_.empty()) history(history_, &event, H_LOAD, history_path_.c_str());
    el_set(editor_, EL_EDITOR, "emacs");
    el_set(editor_, EL_PROMPT, current_prompt);
    el_set(editor_, EL_HIST, history, history_);
    el_set(editor_, EL_GETCFN, read_key);
    el_source(editor_, nullptr);  // the user's ~/.editrc
  }
  ~EditReader() override {
    HistEvent event;
    if (!history_path_.empty()) history(history_, &event, H_SAVE, history_path_.c_str());
    history_end(history_);
    el_end(editor_);
  }

  ReadStatus read(const char* prompt, std::string& line) override {
    g_prompt = prompt;
    int count = 0;
    const char* text = el_gets(editor_, &count);
    if (text == nullptr || count <= 0) {
      if (interrupt_requested()) {
        std::fputs("\n", stdout);
        return ReadStatus::kInterrupted;
      }
      return ReadStatus::kEnd;
    }
    line.assign(text, static_cast<size_t>(count));
    if (!line.empty() && line.back() == '\n') line.pop_back();
    return ReadStatus::kLine;
  }

  void remember(const std::string& line) override {
    HistEvent event;
    if (!line.empty()) history(history_, &event, H_ENTER, line.c_str());
  }

 private:
  std::string history_path_;
  EditLine* editor_ = nullptr;
  History* history_ = nullptr;
};

}  // namespace

std::unique_ptr<LineReader> make_plain_reader() { return std::make_unique<PlainReader>(); }

std::unique_ptr<LineReader> make_edit_reader(const char* program, std::string history_path) {
  return std::make_unique<EditReader>(program, std::move(history_path));
}

}  // namespace mamba2::chat
