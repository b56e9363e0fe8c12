// Dropping privileges in a forked child before exec.
//
// CRIU running as root cannot dump a process of another uid on a host where
// stasisd lacks CAP_SYS_RESOURCE ("Can't get rlimit"). What works there is a
// dump worker running as the target's uid that keeps CAP_CHECKPOINT_RESTORE
// and CAP_SYS_PTRACE as ambient capabilities and runs CRIU with
// `unprivileged` (criu.dump-as, manager/dump_worker.hpp, chooses).
//
// The functions marked "child" are meant to run between fork() and exec():
// they only make system calls and libcap calls, no NSS look-ups. Resolve the
// identity in the parent with lookup_uid()/lookup_user() first.
#pragma once

#include "manager/identity.hpp"
#include "util/result.hpp"

#include <vector>

namespace stasis::manager {

// The capabilities a CRIU worker running as a user keeps (permitted,
// inheritable, effective and ambient, so that the exec'd CRIU has them).
struct WorkerCapabilities {
  // Capability numbers (CAP_*).
  std::vector<int> caps;
  // Whether the bounding set is cut down to `caps` too. A restore worker keeps
  // the bounding set: the restored tasks are its children and can only get
  // back the bounding set they were dumped with if the worker still has it.
  bool trim_bounding_set = true;
};

// A dump worker of root's policy job whose target runs as a user:
// CAP_CHECKPOINT_RESTORE and CAP_SYS_PTRACE (root's policy chose the target).
WorkerCapabilities policy_dump_worker_caps();
// A dump worker for a user's own process (CheckpointProcess):
// CAP_CHECKPOINT_RESTORE only, so the kernel's ptrace rules decide what CRIU
// may seize: exactly what the user could trace herself.
WorkerCapabilities user_dump_worker_caps();
// A restore worker: CAP_CHECKPOINT_RESTORE (pids, PR_SET_MM, map_files), and
// CAP_SETPCAP when the dumped tree's bounding set or securebits must be
// restored (CRIU's restorer drops every capability missing from the dumped
// bounding set with PR_CAPBSET_DROP, which needs CAP_SETPCAP even for a
// capability the bounding set already lacks).
WorkerCapabilities restore_worker_caps(bool setpcap);

// Child: switches to the identity (supplementary groups, gid, uid; real,
// effective and saved) while keeping exactly `caps`. Every other capability is
// gone (and, with trim_bounding_set, dropped from the bounding set).
Result<void> drop_to_user_keep_caps(const UserIdentity& identity,
                                    const WorkerCapabilities& caps);

// Child: drop_to_user_keep_caps with policy_dump_worker_caps().
Result<void> drop_to_user_keep_checkpoint_caps(const UserIdentity& identity);

// Child convenience form: uses the groups of the user with that uid. It reads
// the user database, so prefer the UserIdentity form in a multithreaded parent.
Result<void> drop_to_user_keep_checkpoint_caps(uid_t uid, gid_t gid);

// Child: switches to the identity and drops every capability (effective,
// permitted, inheritable, ambient and bounding set) and sets no_new_privs.
// Works for uid 0 too: a root process without capabilities stays without them
// across exec because the bounding set is empty.
Result<void> drop_to_user_without_caps(const UserIdentity& identity);

} // namespace stasis::manager
