// Restoring into a fresh PID namespace (CRIU's criu-ns approach), so that the
// restored tree keeps its pids even while they are taken on the host. The
// CRIU worker runs in the new namespace (engine/pid_namespace_worker.hpp);
// this file turns the pid CRIU reports (one inside the namespace) into the
// host pid stasis records and signals.
#pragma once

#include "engine/criu_client.hpp"
#include "manager/restore_rights.hpp"

#include <filesystem>
#include <sys/types.h>

namespace stasis::manager {

// What a restore into a new PID namespace gives back: CRIU's result (its pid
// is the host pid of the restored root) plus the pid inside the namespace and
// the host pid of the namespace's init.
struct PidNamespaceRestore {
  engine::RestoreResult result;
  pid_t namespace_pid = 0;
  pid_t init_pid = 0;
};

// Restores options.images_dir with `criu` into a fresh PID namespace; CRIU runs
// with `rights` (the namespace's init stays root's).
Result<PidNamespaceRestore, engine::EngineError> restore_in_new_pid_namespace(
    const std::filesystem::path& criu, const RestoreRights& rights,
    const engine::RestoreOptions& options, const engine::NotifyHandler& notify,
    const engine::RunControl& control);

// The pid of a host process in its innermost PID namespace (the last pid of
// the "NSpid:" line of /proc/PID/status), or 0.
pid_t innermost_pid(pid_t pid);

// The host pid of the process that has pid `ns_pid` in the PID namespace
// whose init has host pid `init_pid`; 0 when there is none.
pid_t host_pid_in_namespace(pid_t init_pid, pid_t ns_pid);

} // namespace stasis::manager
