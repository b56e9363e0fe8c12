// SIGHUP/SIGTERM/SIGINT as readable events for the service loop.
//
// A self-pipe, not signalfd: signalfd needs the signals blocked, and a blocked
// mask is inherited by every child (criu swrk, hooks) across fork and exec.
// Handlers, in contrast, are reset to default by exec, so children start
// clean. The handler only write()s the signal number into a non-blocking pipe.
#pragma once

#include "util/result.hpp"

#include <optional>

namespace stasis::daemon {

// Installs the handlers (once per process) and returns the read end of the
// pipe, readable whenever a signal arrived.
Result<int> watch_signals();

// Reads the next arrived signal number from the pipe, if any.
std::optional<int> next_signal(int fd);

} // namespace stasis::daemon
