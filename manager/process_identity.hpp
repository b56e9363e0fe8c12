// Telling a process from a later one that got the same pid: a process is
// known by its pid, the boot it runs in and its start time since that boot.
#pragma once

#include <string>
#include <sys/types.h>

namespace stasis::manager {

// "<boot id>/<start time in clock ticks since boot>" of a running process
// (from /proc/sys/kernel/random/boot_id and /proc/PID/stat), "" when the
// process does not exist or cannot be read.
std::string process_identity(pid_t pid);

// What became of a process recorded earlier with its identity.
enum class PidFate {
  Gone,     // no process has that pid now
  Same,     // the recorded process still runs
  Replaced, // the recorded process is gone; another one has its pid
  Unknown,  // the pid is taken, but no identity was recorded to compare
};

PidFate pid_fate(pid_t pid, const std::string& identity);

// True when the process is stopped (state T in /proc/PID/stat).
bool process_stopped(pid_t pid);

} // namespace stasis::manager
