// Runs a job's hook: an argv (no shell) as a configured user/group, without
// capabilities, with a timeout that kills the hook's whole process group.
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
// - The hook is the leader of a new process group. On timeout the group gets
//   SIGTERM, then SIGKILL after a grace period. When the hook exits, whatever
//   is left of its group is killed too: a hook does not outlive itself.
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

// Runs one hook and waits for it. An error means it could not be started (bad
// argv, unknown user, command not found); a hook that ran and failed is a
// successful Result whose outcome says how it failed.
Result<HookOutcome> run_hook(const HookSpec& spec, const HookEvent& event,
                             const HookOutputSink& sink = {},
                             const HookRunnerOptions& options = {});

} // namespace stasis::manager
