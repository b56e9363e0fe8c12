// The terminal a caller hands stasisd to restore a shell job onto
// (RestoreOnTerminal): what it must be before a restore may use it.
#pragma once

#include "util/result.hpp"

#include <sys/types.h>

namespace stasis::manager {

// Checks the descriptor a caller of uid `caller` handed: a terminal (it
// answers TCGETS), open for reading and writing (CRIU gives the job copies of
// it as its stdin, stdout and stderr), and owned by the caller (the owner of
// its device node, e.g. /dev/pts/N); root may hand any terminal.
Result<void> check_caller_terminal(int fd, uid_t caller);

// The uid owning the terminal `fd` (its device node), or an error.
Result<uid_t> terminal_owner(int fd);

} // namespace stasis::manager
