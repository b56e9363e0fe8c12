// Dropping privileges in a forked child before exec.
//
// CRIU running as root cannot dump a process of another uid on this kind of
// host (it lacks CAP_SYS_RESOURCE: "Can't get rlimit"). What works is a dump
// worker running as the target's uid that keeps CAP_CHECKPOINT_RESTORE and
// CAP_SYS_PTRACE as ambient capabilities and runs CRIU with `unprivileged`.
//
// The functions marked "child" are meant to run between fork() and exec():
// they only make system calls and libcap calls, no NSS look-ups. Resolve the
// identity in the parent with lookup_uid()/lookup_user() first.
#pragma once

#include "manager/identity.hpp"
#include "util/result.hpp"

namespace stasis::manager {

// Child: switches to the identity (supplementary groups, gid, uid; real,
// effective and saved) while keeping CAP_CHECKPOINT_RESTORE and CAP_SYS_PTRACE
// permitted, inheritable, effective and ambient, so an exec'd CRIU has them.
// Every other capability is gone (and dropped from the bounding set).
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
