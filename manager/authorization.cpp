#include "manager/authorization.hpp"

#include "manager/identity.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace stasis::manager {
namespace {

// PF_KTHREAD in the flags field of /proc/PID/stat.
constexpr unsigned long k_pf_kthread = 0x00200000;

// The caller's groups as names and gids: its gid, its passwd entry's groups.
std::vector<std::string> caller_groups(const Caller& caller,
                                       const std::optional<UserIdentity>& identity) {
  std::vector<gid_t> gids{caller.gid};
  if (identity) {
    gids.insert(gids.end(), identity->groups.begin(), identity->groups.end());
  }
  std::sort(gids.begin(), gids.end());
  gids.erase(std::unique(gids.begin(), gids.end()), gids.end());
  std::vector<std::string> groups;
  for (gid_t gid : gids) {
    groups.push_back(std::to_string(gid));
    if (auto name = group_name(gid)) {
      groups.push_back(*name);
    }
  }
  return groups;
}

// Reads the "Uid:" line of /proc/PID/status: real, effective, saved, fs.
std::optional<std::vector<uid_t>> read_uids(const std::filesystem::path& status_file) {
  std::ifstream in(status_file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Uid:", 0) == 0) {
      std::istringstream fields(line.substr(4));
      std::vector<uid_t> uids;
      for (uid_t uid; fields >> uid;) {
        uids.push_back(uid);
      }
      return uids;
    }
  }
  return std::nullopt;
}

// Reads the flags field (9th) of /proc/PID/stat; comm may hold spaces and ')'.
std::optional<unsigned long> read_flags(const std::filesystem::path& stat_file) {
  std::ifstream in(stat_file);
  std::string text;
  std::getline(in, text);
  auto close = text.rfind(')');
  if (close == std::string::npos) {
    return std::nullopt;
  }
  std::istringstream fields(text.substr(close + 1));
  std::string field;
  for (int i = 3; i <= 9; ++i) {
    if (!(fields >> field)) {
      return std::nullopt;
    }
  }
  return std::stoul(field);
}

// "uid 1001 (alice)", or "uid 1001" for a uid without a name.
std::string describe_uid(uid_t uid) {
  auto identity = lookup_uid(uid);
  return identity ? fmt::format("uid {} ({})", uid, identity->name)
                  : fmt::format("uid {}", uid);
}

std::optional<ino_t> namespace_inode(const std::filesystem::path& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return std::nullopt;
  }
  return st.st_ino;
}

} // namespace

std::string to_string(Action action) {
  switch (action) {
  case Action::List:
    return "list";
  case Action::Checkpoint:
    return "checkpoint";
  case Action::Restore:
    return "restore";
  case Action::Delete:
    return "delete";
  case Action::Export:
    return "export";
  }
  return "unknown";
}

bool may(const Caller& caller, Action action, const policy::Access& access) {
  if (caller.is_root()) {
    return true;
  }
  std::optional<UserIdentity> identity;
  if (auto found = lookup_uid(caller.uid)) {
    identity = std::move(*found);
  }
  return access.permits(action, identity ? identity->name : std::string(),
                        std::to_string(caller.uid), caller_groups(caller, identity));
}

MResult<void> check_own_process(const Caller& caller, pid_t pid,
                                const std::filesystem::path& proc_root) {
  if (pid <= 0) {
    return fail(ErrorCode::InvalidArgument, "{} is not a process id", pid);
  }
  const auto dir = proc_root / std::to_string(pid);
  auto uids = read_uids(dir / "status");
  auto flags = read_flags(dir / "stat");
  if (!uids || uids->size() != 4 || !flags) {
    return fail(ErrorCode::InvalidArgument, "no process {}", pid);
  }
  if ((*flags & k_pf_kthread) != 0) {
    return fail(ErrorCode::InvalidArgument, "process {} is a kernel thread", pid);
  }
  if (pid == getpid()) {
    return fail(ErrorCode::InvalidArgument, "process {} is the stasis daemon itself",
                pid);
  }
  if (caller.is_root()) {
    return {};
  }
  for (uid_t uid : *uids) {
    if (uid != caller.uid) {
      return fail(
          ErrorCode::AccessDenied,
          "process {} belongs to uid {} (uids real/effective/saved/fs: {}/{}/{}/{}), "
          "not to the caller's uid {}",
          pid, uid, (*uids)[0], (*uids)[1], (*uids)[2], (*uids)[3], caller.uid);
    }
  }
  auto own_ns = namespace_inode(dir / "ns" / "user");
  // The initial namespace is init's; where init's is hidden from us (e.g. a VM
  // init with more capabilities than our bounding set), it is the daemon's own.
  auto init_ns = namespace_inode(proc_root / "1" / "ns" / "user");
  if (!init_ns) {
    init_ns = namespace_inode(proc_root / "self" / "ns" / "user");
  }
  if (!own_ns || !init_ns || *own_ns != *init_ns) {
    return fail(
        ErrorCode::AccessDenied,
        "process {} runs in a user namespace other than the host's; only root may "
        "checkpoint it",
        pid);
  }
  return {};
}

util::StepCheck policy_path_rule(uid_t trusted_owner) {
  return [trusted_owner](const util::PathStep& step) -> Result<void> {
    const struct stat& st = step.st;
    const char* kind = S_ISLNK(st.st_mode)   ? "symlink"
                       : S_ISDIR(st.st_mode) ? "directory"
                                             : "policy file";
    if (st.st_uid != 0 && st.st_uid != trusted_owner) {
      return make_error(
          "{} {} is owned by {}, not root: that user could change the policies, whose "
          "hooks run as root (fix: chown root {})",
          kind, step.path, describe_uid(st.st_uid), step.path);
    }
    const bool shared = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
    const bool sticky_on_the_way =
        S_ISDIR(st.st_mode) && !step.last && (st.st_mode & S_ISVTX) != 0;
    if (!S_ISLNK(st.st_mode) && shared && !sticky_on_the_way) {
      return make_error(
          "{} {} is writable by group or others (mode {:o}): they could change the "
          "policies, whose hooks run as root (fix: chmod go-w {})",
          kind, step.path, st.st_mode & 07777, step.path);
    }
    return {};
  };
}

util::StepCheck PathWriters::recorder() {
  return [this](const util::PathStep& step) -> Result<void> {
    const struct stat& st = step.st;
    if (st.st_uid != 0) {
      users.emplace(st.st_uid, step.path);
    }
    const bool shared_write = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
    const bool sticky_dir = S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX) != 0;
    if (shared.empty() && !S_ISLNK(st.st_mode) && shared_write && !sticky_dir) {
      shared = step.path;
    }
    return {};
  };
}

} // namespace stasis::manager
