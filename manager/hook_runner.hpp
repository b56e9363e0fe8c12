// Runs a job's hook: an argv (no shell) as a configured user/group, without
// capabilities, in a PID namespace of its own, with a timeout that kills every
// process the hook started.
//
// Choices:
// - Hooks run as root by default, but every hook (root too) loses all
//   capabilities: effective/permitted/inheritable/ambient sets are cleared, the
//   bounding set is emptied (so exec cannot give root its capabilities back) and
//   no_new_privs is set. A root hook can still use files root owns (DAC by
//   uid), but it cannot ptrace, mount, load modules or override permissions.
// - The environment is built from scratch: PATH, HOME, USER, LOGNAME, LANG=C,
//   then the hook's env, then STASIS_* variables of the event (which win).
// - argv[0] without a slash is searched in that fixed PATH by the runner.
// - stdin is /dev/null; stdout and stderr go to one pipe. Complete lines are
//   passed to the output callback as they arrive; the last 64 KiB are kept.
// - Every hook runs in a PID namespace of its own, under a small init of
//   ours (pid 1 there, the hook is pid 2): when that init ends, the kernel
//   kills everything left in the namespace, and nothing can leave a PID
//   namespace - not with setsid, a double fork, a new process group or a
//   new session, whatever its uid. A process group (what an earlier version
//   used) is left with one setsid(), and a cgroup can be left by a root hook
//   (its uid still owns the cgroup files, capabilities or not) and needs a
//   writable, delegated cgroup2 tree; the namespace needs neither. The init
//   runs as the hook's user without capabilities, is not dumpable (the hook
//   cannot ptrace it), reaps orphans, passes SIGTERM on to every process of
//   the namespace and, when the hook exits, reports its wait status through
//   a pipe and exits.
// - On timeout the init gets SIGTERM (so the whole namespace does), then
//   SIGKILL after a grace period; when the hook exits, whatever it left
//   behind is killed at once. A hook does not outlive itself, and when
//   run_hook() returns, no process of it is left.
// - The mount namespace is the daemon's: /proc is the host's, so a hook reads
//   /proc/$STASIS_PID of the target as before, and /proc/self is itself. But
//   pids in system calls are the namespace's: `kill $STASIS_PID` finds no
//   such process, and `$$` is 2 in every hook (use mktemp, not $$, for
//   temporary names).
#pragma once

#include "util/result.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace stasis::manager {

// What to run and as whom.
struct HookSpec {
  std::vector<std::string> argv;
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  std::optional<std::string> user;  // default root
  std::optional<std::string> group; // default the user's primary group
  std::map<std::string, std::string> env;
};

// Which run the hook belongs to; passed as STASIS_* environment variables.
struct HookEvent {
  std::string job;        // STASIS_JOB
  std::string action;     // STASIS_ACTION, e.g. "pre-checkpoint"
  std::string checkpoint; // STASIS_CHECKPOINT (may be empty)
  pid_t pid = 0;          // STASIS_PID (0 = unset)
  std::string images_dir; // STASIS_IMAGES_DIR (may be empty)
};

// How a hook ended.
struct HookOutcome {
  std::optional<int> exit_code; // set when it exited
  std::optional<int> signal;    // set when a signal ended it
  bool timed_out = false;
  std::string output_tail; // the last (at most 64 KiB) bytes of stdout+stderr
  std::chrono::milliseconds duration{0};

  // True when the hook exited with status 0 in time.
  bool succeeded() const { return !timed_out && exit_code == 0; }
  // "exited with status 3", "killed by signal 9 (timed out after 5000 ms)", ...
  std::string describe() const;
};

// Receives the hook's output line by line (without the newline).
using HookOutputSink = std::function<void(std::string_view line)>;

// Tunables of the runner (tests shorten the grace period).
struct HookRunnerOptions {
  std::chrono::milliseconds kill_grace{std::chrono::seconds(5)};
  std::size_t output_limit = 64 * 1024;
};

// Runs one hook and waits for it and everything it started. An error means it
// could not be started (bad argv, unknown user, command not found, no PID
// namespace); a hook that ran and failed is a successful Result whose outcome
// says how it failed. Needs CAP_SYS_ADMIN (for the PID namespace) and
// CAP_SETUID/CAP_SETGID for another user, as stasisd has.
Result<HookOutcome> run_hook(const HookSpec& spec, const HookEvent& event,
                             const HookOutputSink& sink = {},
                             const HookRunnerOptions& options = {});

} // namespace stasis::manager
