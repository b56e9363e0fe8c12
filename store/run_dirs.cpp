#include "store/run_dirs.hpp"

#include <algorithm>
#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace stasis::store {
namespace {

// The names in an open directory (its fd stays open and usable).
Result<std::vector<std::string>> names_in(int dir_fd, const fs::path& path) {
  int copy = ::dup(dir_fd);
  DIR* dir = copy < 0 ? nullptr : ::fdopendir(copy);
  if (dir == nullptr) {
    if (copy >= 0) {
      ::close(copy);
    }
    return make_error("cannot read directory {}: {}", path.string(), errno_text());
  }
  ::rewinddir(dir);
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    const dirent* entry = ::readdir(dir);
    if (entry == nullptr) {
      break;
    }
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") {
      names.emplace_back(name);
    }
  }
  const int error = errno;
  ::closedir(dir);
  if (error != 0) {
    errno = error;
    return make_error("cannot read directory {}: {}", path.string(), errno_text());
  }
  return names;
}

// Removes name in parent (at path, for messages), descending depth levels
// at most; device is the filesystem the removal stays on.
Result<std::uint64_t> remove_at(int parent, const std::string& name, const fs::path& path,
                                dev_t device, int depth) {
  struct stat st {};
  if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) {
      return std::uint64_t{0};
    }
    return make_error("cannot inspect {}: {}", path.string(), errno_text());
  }
  const auto bytes = static_cast<std::uint64_t>(st.st_blocks) * 512;
  if (!S_ISDIR(st.st_mode)) {
    if (::unlinkat(parent, name.c_str(), 0) != 0 && errno != ENOENT) {
      return make_error("cannot remove {}: {}", path.string(), errno_text());
    }
    return bytes;
  }
  if (st.st_dev != device) {
    return make_error("{} is on another filesystem (a mount point): left alone",
                      path.string());
  }
  if (depth >= k_max_remove_depth) {
    return make_error("{} is nested deeper than {} directories: left alone",
                      path.string(), k_max_remove_depth);
  }
  util::UniqueFd fd{
      ::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
  if (!fd) {
    if (errno == ENOTDIR || errno == ELOOP) { // replaced meanwhile: remove the link
      if (::unlinkat(parent, name.c_str(), 0) != 0 && errno != ENOENT) {
        return make_error("cannot remove {}: {}", path.string(), errno_text());
      }
      return std::uint64_t{0};
    }
    if (errno == ENOENT) {
      return std::uint64_t{0};
    }
    return make_error("cannot open {}: {}", path.string(), errno_text());
  }
  struct stat opened {};
  if (::fstat(fd.get(), &opened) != 0 || opened.st_dev != device) {
    return make_error("{} is on another filesystem (a mount point): left alone",
                      path.string());
  }
  std::uint64_t freed = bytes;
  for (const auto& child : STASIS_TRY(names_in(fd.get(), path))) {
    freed += STASIS_TRY(remove_at(fd.get(), child, path / child, device, depth + 1));
  }
  if (::unlinkat(parent, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return make_error("cannot remove directory {}: {}", path.string(), errno_text());
  }
  return freed;
}

// Opens a directory of the state dir (nullopt when it does not exist).
Result<std::optional<util::UniqueFd>> open_dir(const fs::path& dir) {
  util::UniqueFd fd{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
  if (!fd) {
    if (errno == ENOENT) {
      return std::optional<util::UniqueFd>();
    }
    return make_error("cannot open {}: {}", dir.string(), errno_text());
  }
  return std::optional<util::UniqueFd>(std::move(fd));
}

} // namespace

Result<std::uint64_t> remove_tree(const fs::path& path) {
  auto parent_path = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  auto parent = STASIS_TRY(open_dir(parent_path));
  if (!parent) {
    return std::uint64_t{0};
  }
  struct stat st {};
  if (::fstat(parent->get(), &st) != 0) {
    return make_error("cannot inspect {}: {}", parent_path.string(), errno_text());
  }
  return remove_at(parent->get(), path.filename().string(), path, st.st_dev, 0);
}

Result<std::optional<DaemonLease>> DaemonLease::try_acquire(const fs::path& state_dir) {
  const auto path = state_dir / k_daemon_lock_name;
  util::UniqueFd fd{
      ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)};
  if (!fd) {
    return make_error("cannot open {}: {}", path.string(), errno_text());
  }
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return std::optional<DaemonLease>();
    }
    return make_error("cannot lock {}: {}", path.string(), errno_text());
  }
  // The holder's pid, for the message of whoever finds the lease taken.
  const auto pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) == 0) {
    (void)::pwrite(fd.get(), pid.data(), pid.size(), 0);
  }
  return std::optional<DaemonLease>(DaemonLease(std::move(fd)));
}

Result<DaemonLease> DaemonLease::acquire(const fs::path& state_dir) {
  auto lease = STASIS_TRY(try_acquire(state_dir));
  if (!lease) {
    auto holder = read_file(state_dir / k_daemon_lock_name).value_or("");
    holder.erase(std::find(holder.begin(), holder.end(), '\n'), holder.end());
    return make_error("the state dir {} is in use by another process{} (a running "
                      "stasisd, or stasisctl fsck)",
                      state_dir.string(), holder.empty() ? "" : " (pid " + holder + ")");
  }
  return std::move(*lease);
}

std::vector<std::string> run_dirs(const fs::path& state_dir) {
  std::vector<std::string> runs;
  auto work = open_dir(state_dir / k_work_dir_name);
  if (work && *work) {
    runs = names_in((*work)->get(), state_dir / k_work_dir_name).value_or(runs);
  }
  std::sort(runs.begin(), runs.end());
  return runs;
}

LeftoverRuns remove_leftover_runs(const fs::path& state_dir, const DaemonLease&) {
  LeftoverRuns out;
  for (const auto& run : run_dirs(state_dir)) {
    bool removed = true;
    for (auto kind : {k_work_dir_name, k_logs_dir_name}) {
      auto freed = remove_tree(state_dir / kind / run);
      if (freed) {
        out.bytes += *freed;
      } else {
        out.problems.push_back(freed.error().message);
        removed = false;
      }
    }
    if (removed) {
      out.runs.push_back(run);
    }
  }
  return out;
}

} // namespace stasis::store
