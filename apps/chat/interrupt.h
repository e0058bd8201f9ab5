// Ctrl-C as a request, not a kill. The SIGINT handler sets a flag, which generation checks
// between tokens, and writes a byte to a pipe, which the line readers watch beside stdin: the
// signal may land on any thread (OpenBLAS and TBB start their own), and a waiting read() in the
// main thread would not notice it, but a select() on the pipe does, even if the signal came just
// before the select() started.
#pragma once

namespace mamba2::chat {

void install_interrupt_handler();
bool interrupt_requested();
void clear_interrupt();
// The pipe end that becomes readable on Ctrl-C (-1 before install_interrupt_handler).
int interrupt_fd();

// Waits until `fd` is readable (true) or Ctrl-C is pressed (false).
bool wait_readable_or_interrupt(int fd);

}  // namespace mamba2::chat
