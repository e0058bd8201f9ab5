// Ctrl-C as a request, not a kill: SIGINT sets a flag that generation checks between tokens and
// the line readers check when a read is interrupted.
#pragma once

namespace mamba2::chat {

// Installs the SIGINT handler (without SA_RESTART, so a blocked read returns EINTR).
void install_interrupt_handler();
bool interrupt_requested();
void clear_interrupt();

}  // namespace mamba2::chat
