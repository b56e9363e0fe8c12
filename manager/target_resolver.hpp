// Resolving a job's target (policy::Target) to the root pid of the process
// tree to checkpoint. Process targets are RE2 patterns (policy/pattern.hpp)
// searched (not anchored, like pgrep -f) in the executable path and the first
// k_max_cmdline_bytes of the command line, optionally narrowed by user; among
// the matches, those with a matching ancestor are dropped and exactly one tree
// root must remain. A pidfile (its first line holds the pid) is read through
// a walk of its path: when a user other than root can change it, it may only
// name that user's own process (systemd's PIDFile= rule). A cgroup target needs exactly
// one member whose parent lies outside the cgroup. Container targets (runc, lxc, podman)
// resolve to their init's host pid, asked from their runtime.
#pragma once

#include "manager/process_table.hpp"
#include "policy/model.hpp"
#include "util/result.hpp"

#include <sys/types.h>

namespace stasis::manager {

// Resolves a target to one root pid, or explains why not (listing candidates
// when there are several).
Result<pid_t> resolve_target(const policy::Target& target, const ProcessTable& table);

} // namespace stasis::manager
