// What belongs to a user: one rule for every check stasisd makes for a caller
// who is not root. A process is hers when she could trace it herself: all
// four of its uids are hers, its gids and supplementary groups are ones she
// belongs to, it holds no capabilities and it is dumpable (a process that
// changed credentials, e.g. after running a setuid program, is not). The rule
// is applied to every process and thread of a tree: before a dump from /proc,
// after it from what the images recorded, and at restore.
#pragma once

#include "engine/image_creds.hpp"
#include "manager/identity.hpp"
#include "util/result.hpp"

#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <sys/types.h>

namespace stasis::manager {

// Finds a user's entry (lookup_uid in the daemon; tests pass their own).
using UserLookup = std::function<Result<UserIdentity>(uid_t)>;

// The groups uid may run with: its primary and supplementary groups; a uid
// without a user database entry only the gid equal to its number (the usual
// convention of dynamic users).
std::set<gid_t> entitled_groups(uid_t uid, const UserLookup& lookup = lookup_uid);

// Why `task` is not uid's (see above), or nothing when it is.
std::optional<std::string> not_owned_because(const engine::TaskCreds& task, uid_t uid,
                                             const std::set<gid_t>& groups);

// The credentials of every thread of every process of the tree rooted at pid,
// read from /proc (proc_root for tests).
Result<engine::TreeCreds>
live_tree_creds(pid_t root, const std::filesystem::path& proc_root = "/proc");

// Checks every task of a tree against the rule for uid; the error names the
// first task that is not hers and why.
Result<void> check_tree_owned_by(const engine::TreeCreds& tree, uid_t uid);

} // namespace stasis::manager
