// The processes of a hook: a small init of ours as pid 1 of a new PID
// namespace, and the hook as its only child (hook_runner.hpp says why).
#pragma once

#include "manager/identity.hpp"
#include "util/result.hpp"

#include <string>
#include <sys/types.h>

namespace stasis::manager {

// What the hook's processes get. The descriptors are the parent's; the
// forked processes use their copies.
struct HookLaunch {
  std::string path;  // the executable, resolved
  char* const* argv; // null-terminated
  char* const* envp; // null-terminated, the whole environment
  const UserIdentity* identity;
  int null_fd;   // becomes the hook's stdin
  int output_fd; // becomes the hook's stdout and stderr
  int error_fd;  // why the hook could not start (text; O_CLOEXEC)
  int status_fd; // the hook's wait status, an int, once it ended (O_CLOEXEC)
};

// Forks the init of a new PID namespace, which switches to the identity
// without capabilities, forks the hook (a session of its own, default
// signals, stdio from the launch, cwd /) and execs it, passes SIGTERM on to
// everything in the namespace, and writes the hook's wait status to status_fd
// when the hook ends; then it exits and the kernel kills what is left. A
// failure before the exec is written to error_fd. Returns the init's pid, a
// child of the calling process.
Result<pid_t> spawn_hook(const HookLaunch& launch);

} // namespace stasis::manager
