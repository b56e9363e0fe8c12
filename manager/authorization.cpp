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

bool caller_in_group(const Caller& caller, gid_t gid) {
  if (caller.gid == gid) {
    return true;
  }
  auto identity = lookup_uid(caller.uid);
  if (!identity) {
    return false;
  }
  return std::find(identity->groups.begin(), identity->groups.end(), gid) !=
         identity->groups.end();
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
  }
  return "unknown";
}

const Principals& AccessList::of(Action action) const {
  switch (action) {
  case Action::List:
    return list;
  case Action::Checkpoint:
    return checkpoint;
  case Action::Restore:
    return restore;
  case Action::Delete:
    return remove;
  }
  return list;
}

bool may(const Caller& caller, Action action, const AccessList& access) {
  if (caller.is_root()) {
    return true;
  }
  const Principals& principals = access.of(action);
  for (const auto& user : principals.users) {
    if (find_uid(user) == caller.uid) {
      return true;
    }
  }
  for (const auto& group : principals.groups) {
    if (auto gid = find_gid(group); gid && caller_in_group(caller, *gid)) {
      return true;
    }
  }
  return false;
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

MResult<void> check_policy_file_safe(const std::filesystem::path& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return fail(ErrorCode::InvalidPolicy, "cannot stat policy file {}: {}", path.string(),
                std::strerror(errno));
  }
  if (st.st_uid != 0) {
    return fail(
        ErrorCode::InvalidPolicy,
        "policy file {} is owned by uid {}, not root; its hooks would run as root "
        "(fix: chown root {})",
        path.string(), st.st_uid, path.string());
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return fail(
        ErrorCode::InvalidPolicy,
        "policy file {} is writable by group or others (mode {:o}); its hooks would "
        "run as root (fix: chmod go-w {})",
        path.string(), st.st_mode & 07777, path.string());
  }
  return {};
}

} // namespace stasis::manager
