// Who may do what: access lists per action, and the safety checks on processes
// a caller asks to checkpoint and on policy files (whose hooks run as root).
#pragma once

#include "manager/api.hpp"
#include "policy/model.hpp"
#include "util/path_walk.hpp"

#include <filesystem>
#include <map>
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

// The rule for root's policy files (their hooks run as root), shown every
// entry on the way to each file by the loader's walk (util/path_walk.hpp):
// "/", every directory, every symlink and the file are owned by root; the
// directories and the file are not writable by group or others, except that
// a directory on the way to the policy directory (not the policy directory
// itself) may be when it is sticky, like /tmp: no one else may rename or
// remove root's entries in it. Symlinks are followed only this way (their
// targets obey the same rule). Each refusal names the entry and the fix.
// trusted_owner is a uid trusted like root (tests that run as a user).
util::StepCheck policy_path_rule(uid_t trusted_owner = 0);

// Who besides root can change what a path leads to (the file and the
// entries on the way), from the steps of a walk (util/path_walk.hpp): the
// non-root owners of its entries, and whether a group or others can
// (a directory writable by group or others that is not sticky, or such a
// file). A pidfile that others can change may only name their processes.
struct PathWriters {
  std::map<uid_t, std::string> users; // non-root owner -> the first entry it owns
  std::string shared;                 // "" or the entry writable by group or others

  // A StepCheck that records each step (and refuses none).
  util::StepCheck recorder();
};

} // namespace stasis::manager
