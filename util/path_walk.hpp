// Opening a file by walking its path one entry at a time, so that the caller
// sees every directory, symlink and file on the way (owner, mode) and opens
// exactly what it saw: each entry is opened relative to the descriptor of the
// one before with O_NOFOLLOW, a symlink is read and its target walked the same
// way (from "/" or from the symlink's directory), and the last entry is opened
// for reading from the directory that was checked. The kernel resolves
// nothing by name behind the caller's back, so a user who swaps a symlink or
// a directory between a check and a read gains nothing.
#pragma once

#include "util/result.hpp"
#include "util/unique_fd.hpp"

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <sys/stat.h>

namespace stasis::util {

// At most this many symlinks in one walk (the kernel's own limit).
inline constexpr int k_max_walk_symlinks = 40;

// One entry a walk passes through: "/", each directory, each symlink (a step
// of its own, before its target's steps) and the entry it ends at.
struct PathStep {
  std::string path;  // the entry's path, symlinks before it resolved
  struct stat st {}; // its lstat
  bool last = false; // the entry the walk opens
};

// Looks at one step; an error stops the walk with that error.
using StepCheck = std::function<Result<void>(const PathStep&)>;

// What a walk must end at.
enum class WalkTarget { RegularFile, Directory, Either };

// The entry a walk ended at, open for reading (O_RDONLY | O_CLOEXEC, and
// O_DIRECTORY for a directory), with the fstat of that descriptor.
struct WalkedFile {
  UniqueFd fd;
  struct stat st {};
  std::string path; // where the walk ended, symlinks resolved
};

// Walks path (a relative one from the current directory), showing every step
// to check.
Result<WalkedFile> walk_open(const std::filesystem::path& path, WalkTarget target,
                             const StepCheck& check);

// Walks name (one entry, or a relative path) from a directory that an earlier
// walk opened; the directory's own steps are not shown again.
Result<WalkedFile> walk_open_at(const WalkedFile& directory, const std::string& name,
                                WalkTarget target, const StepCheck& check);

// Reads a file from its descriptor: refuses a regular file larger than
// max_bytes before reading (fstat), and any file that turns out longer while
// being read; reads nothing beyond max_bytes + 1 bytes.
Result<std::string> read_bounded(int fd, std::size_t max_bytes);

} // namespace stasis::util
