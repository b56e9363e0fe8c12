// What a tree's images say about its processes' credentials: read from
// pstree.img, core-TID.img and mm-PID.img of an images directory.
//
// The manager decides from this with whose rights a tree is restored (a tree
// runs as one user, and its restore runs as that user) and checks, after a
// dump made for a user, that nothing in it belonged to anyone else.
#pragma once

#include "util/result.hpp"

#include <cstdint>
#include <sys/types.h>
#include <vector>

namespace stasis::engine {

// Limits on what is read: images are user data.
inline constexpr std::size_t k_max_image_tasks = 65536;
inline constexpr std::size_t k_max_pstree_image_bytes = 16 * 1024 * 1024;
inline constexpr std::size_t k_max_core_image_bytes = 4 * 1024 * 1024;

// One task (thread) of the tree as its core image records it.
struct TaskCreds {
  pid_t process = 0;   // the process (thread group) the task belongs to
  pid_t tid = 0;       // the task itself (== process for the main thread)
  bool zombie = false; // a dead process: no credentials recorded
  uid_t uid = 0, euid = 0, suid = 0, fsuid = 0;
  gid_t gid = 0, egid = 0, sgid = 0, fsgid = 0;
  std::vector<gid_t> groups;
  std::uint64_t cap_inh = 0, cap_prm = 0, cap_eff = 0, cap_bnd = 0, cap_amb = 0;
  std::uint32_t secbits = 0;
  bool no_new_privs = false;
  // The process's mm "dumpable" flag (mm-PID.img), or -1 when not recorded.
  int dumpable = -1;

  // True when all four uids are `uid` and all four gids are `gid`.
  bool runs_as(uid_t uid, gid_t gid) const;
  // True when the task holds any capability (inheritable, permitted,
  // effective or ambient).
  bool holds_capabilities() const;
};

// Every task of the tree, processes in pstree order, each followed by its
// other threads.
struct TreeCreds {
  std::vector<TaskCreds> tasks;
};

// Reads the credentials of every task from the images in the directory
// `images_dir_fd` refers to. Files are opened relative to it without
// following symlinks; only regular files of bounded size are read.
Result<TreeCreds> read_tree_creds(int images_dir_fd);

} // namespace stasis::engine
