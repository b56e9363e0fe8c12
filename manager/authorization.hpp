// Who may do what: access lists per action, and the safety checks on processes
// a caller asks to checkpoint and on policy files (whose hooks run as root).
#pragma once

#include "manager/api.hpp"
#include "policy/model.hpp"

#include <filesystem>
#include <string>
#include <sys/types.h>
#include <vector>

namespace stasis::manager {

// What a caller wants to do with a job (the policy's actions).
using Action = policy::Access::Action;

std::string to_string(Action action);

// True if the caller may perform the action under the job's access list
// (policy::Access::permits): root always may; otherwise the caller's user name
// or uid is listed, or one of its groups - by name or gid: the caller's gid,
// the passwd entry's primary group and the supplementary groups
// (getgrouplist) - is listed. Names that do not resolve grant nothing.
bool may(const Caller& caller, Action action, const policy::Access& access);

// Checks that an ad-hoc checkpoint of pid is allowed for the caller: the process
// exists, is not a kernel thread nor the daemon itself, and for non-root callers
// all four of its uids (real, effective, saved, fs) are the caller's (so setuid
// programs are refused) and it lives in the initial user namespace (init's, or
// the daemon's own when init's cannot be read).
// proc_root is for tests only.
MResult<void> check_own_process(const Caller& caller, pid_t pid,
                                const std::filesystem::path& proc_root = "/proc");

// Refuses a policy file not owned by root or writable by group or others: its
// hooks run as root. The message names the file and the fix.
MResult<void> check_policy_file_safe(const std::filesystem::path& path);

} // namespace stasis::manager
