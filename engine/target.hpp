// Looking after the process tree a dump works on.
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

namespace stasis::engine {

// Whether a process with this pid exists (zombies count as gone).
bool process_exists(pid_t pid);

// The state letter of /proc/PID/stat ('R', 'S', 'T', 't', 'Z', ...), or '\0'.
char process_state(pid_t pid);

// Makes sure a dump target runs again after its worker was killed: a stopped
// or trace-stopped target gets SIGCONT. Returns what was done, for the error
// message ("pid 12 was stopped and has been resumed"), or "" if nothing.
std::string ensure_running(pid_t pid);

// Every descendant of pid (children, grandchildren, ...), parents first.
std::vector<pid_t> descendants_of(pid_t pid);

} // namespace stasis::engine
