// With whose rights a tree is restored.
//
// The rule: a tree is restored with the rights of the user it runs as. CRIU
// reopens the tree's files by path, reconnects its sockets and recreates its
// credentials; run as root, it would follow a symlink the user planted to a
// file only root may open, and hand the descriptor to her restored process.
// So a tree whose tasks all run as one non-root user is restored by a CRIU
// worker with that user's uid, gid and groups and only CAP_CHECKPOINT_RESTORE
// (plus CAP_SETPCAP where the dumped bounding set must be restored). Only a
// tree of root, or root's explicit policy opt-in (restore.run-as: root), is
// restored as root. Images are re-checked at every restore: whatever they
// claim, a user's restore never gets more than that user has.
#pragma once

#include "engine/criu_client.hpp"
#include "engine/image_creds.hpp"
#include "manager/identity.hpp"
#include "manager/ownership.hpp"
#include "util/result.hpp"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <sys/types.h>

namespace stasis::manager {

// The decision: root, or a user identity with the worker's capabilities.
struct RestoreRights {
  bool as_root = true;
  UserIdentity user;          // when !as_root: uid, gid and groups of the worker
  bool needs_setpcap = false; // when !as_root: CAP_SETPCAP for the bounding set

  // "root" or "uid 1000 (alice)".
  std::string describe() const;
};

// What the job allows.
struct RestoreRightsRules {
  // Root's policy opted into root restores (restore.run-as: root).
  bool root_allowed = false;
  // The user whose own job this is (an ad-hoc job "user-UID"): the tree must
  // run as exactly this user.
  std::optional<uid_t> owner;
};

// Decides from the tree's credentials. Fails with a sentence saying why the
// tree cannot be restored with a user's rights and what would allow it.
// `lookup` finds the user's groups (lookup_uid in the daemon; tests pass
// their own).
Result<RestoreRights> decide_restore_rights(const engine::TreeCreds& tree,
                                            const RestoreRightsRules& rules,
                                            const UserLookup& lookup,
                                            unsigned cap_last_cap);

// Reads the tree's credentials from an images directory (written by the
// store: root's, in a root-only work dir) and decides with lookup_uid().
Result<RestoreRights> restore_rights_for(const std::filesystem::path& images_dir,
                                         const RestoreRightsRules& rules);

// Readies a run's directories for a restore worker with `rights`: the images
// become readable by it (directory 0755, files 0644: they stay root's and sit
// in a root-only work dir, so no one else reaches them) and each of
// `writable` (CRIU's work and log dirs) is handed to the user.
Result<void> prepare_restore_dirs(const RestoreRights& rights,
                                  const std::filesystem::path& images_dir,
                                  const std::vector<std::filesystem::path>& writable);

// CRIU workers with `rights`: root's own, or a user's with
// restore_worker_caps() (unprivileged_worker.hpp).
engine::TransportFactory restore_workers(const std::filesystem::path& criu,
                                         const RestoreRights& rights);

// The highest capability number of this kernel (/proc/sys/kernel/cap_last_cap).
unsigned kernel_cap_last_cap();

} // namespace stasis::manager
