#include "manager/ownership.hpp"

#include "engine/read_file.hpp"
#include "engine/target.hpp"

#include <charconv>
#include <sstream>
#include <sys/stat.h>

#include <fmt/format.h>

namespace stasis::manager {
namespace {

namespace fs = std::filesystem;

// The numbers after "Key:" in /proc/PID/status.
std::vector<std::uint64_t> numbers(const std::string& line, int base) {
  std::vector<std::uint64_t> out;
  std::istringstream fields(line.substr(line.find(':') + 1));
  for (std::string word; fields >> word;) {
    std::uint64_t value = 0;
    auto [end, error] =
        std::from_chars(word.data(), word.data() + word.size(), value, base);
    if (error == std::errc() && end == word.data() + word.size()) {
      out.push_back(value);
    }
  }
  return out;
}

Result<engine::TaskCreds> task_creds(const fs::path& task_dir, pid_t process, pid_t tid,
                                     uid_t proc_owner) {
  auto status = engine::read_file(task_dir / "status", 64 * 1024);
  if (!status) {
    return make_error("process {} is gone", tid);
  }
  engine::TaskCreds task;
  task.process = process;
  task.tid = tid;
  bool have_uids = false;
  bool have_gids = false;
  std::istringstream lines(*status);
  for (std::string line; std::getline(lines, line);) {
    auto starts = [&](const char* key) { return line.rfind(key, 0) == 0; };
    if (starts("Uid:")) {
      auto v = numbers(line, 10);
      if (v.size() == 4) {
        task.uid = static_cast<uid_t>(v[0]);
        task.euid = static_cast<uid_t>(v[1]);
        task.suid = static_cast<uid_t>(v[2]);
        task.fsuid = static_cast<uid_t>(v[3]);
        have_uids = true;
      }
    } else if (starts("Gid:")) {
      auto v = numbers(line, 10);
      if (v.size() == 4) {
        task.gid = static_cast<gid_t>(v[0]);
        task.egid = static_cast<gid_t>(v[1]);
        task.sgid = static_cast<gid_t>(v[2]);
        task.fsgid = static_cast<gid_t>(v[3]);
        have_gids = true;
      }
    } else if (starts("Groups:")) {
      for (auto g : numbers(line, 10)) {
        task.groups.push_back(static_cast<gid_t>(g));
      }
    } else if (starts("CapInh:") || starts("CapPrm:") || starts("CapEff:") ||
               starts("CapBnd:") || starts("CapAmb:")) {
      auto v = numbers(line, 16);
      const std::uint64_t set = v.empty() ? 0 : v[0];
      const std::string key = line.substr(0, 6);
      (key == "CapInh"   ? task.cap_inh
       : key == "CapPrm" ? task.cap_prm
       : key == "CapEff" ? task.cap_eff
       : key == "CapBnd" ? task.cap_bnd
                         : task.cap_amb) = set;
    } else if (starts("NoNewPrivs:")) {
      auto v = numbers(line, 10);
      task.no_new_privs = !v.empty() && v[0] != 0;
    }
  }
  if (!have_uids || !have_gids) {
    return make_error("cannot read the credentials of process {}", tid);
  }
  // /proc/PID belongs to root, not to the process's user, while the process is
  // not dumpable.
  task.dumpable = proc_owner == task.euid ? 1 : 0;
  return task;
}

} // namespace

std::set<gid_t> entitled_groups(uid_t uid, const UserLookup& lookup) {
  std::set<gid_t> groups;
  if (auto user = lookup(uid)) {
    groups.insert(user->gid);
    groups.insert(user->groups.begin(), user->groups.end());
  } else {
    groups.insert(static_cast<gid_t>(uid));
  }
  return groups;
}

std::optional<std::string> not_owned_because(const engine::TaskCreds& task, uid_t uid,
                                             const std::set<gid_t>& groups) {
  if (task.zombie) {
    return std::nullopt;
  }
  if (task.uid != uid || task.euid != uid || task.suid != uid || task.fsuid != uid) {
    return fmt::format("it runs as uid {} (real/effective/saved/fs {}/{}/{}/{})",
                       task.uid != uid    ? task.uid
                       : task.euid != uid ? task.euid
                       : task.suid != uid ? task.suid
                                          : task.fsuid,
                       task.uid, task.euid, task.suid, task.fsuid);
  }
  for (const gid_t gid : {task.gid, task.egid, task.sgid, task.fsgid}) {
    if (!groups.contains(gid)) {
      return fmt::format("it runs with group {}, which uid {} does not belong to", gid,
                         uid);
    }
  }
  for (const gid_t gid : task.groups) {
    if (!groups.contains(gid)) {
      return fmt::format("it holds supplementary group {}, which uid {} does not "
                         "belong to",
                         gid, uid);
    }
  }
  if (task.holds_capabilities()) {
    return fmt::format("it holds capabilities (permitted {:#x}, effective {:#x}, "
                       "inheritable {:#x}, ambient {:#x})",
                       task.cap_prm, task.cap_eff, task.cap_inh, task.cap_amb);
  }
  if (task.dumpable == 0 || task.dumpable == 2) {
    return std::string("it is not dumpable (it changed credentials, e.g. by running a "
                       "setuid program)");
  }
  return std::nullopt;
}

Result<engine::TreeCreds> live_tree_creds(pid_t root, const fs::path& proc_root) {
  std::vector<pid_t> processes = {root};
  if (proc_root == "/proc") {
    auto below = engine::descendants_of(root);
    processes.insert(processes.end(), below.begin(), below.end());
  }
  engine::TreeCreds tree;
  for (const pid_t process : processes) {
    const fs::path dir = proc_root / std::to_string(process);
    struct stat owner {};
    if (::stat(dir.c_str(), &owner) != 0) {
      return make_error("process {} is gone", process);
    }
    std::error_code ec;
    std::vector<pid_t> tids;
    for (const auto& entry : fs::directory_iterator(dir / "task", ec)) {
      pid_t tid = 0;
      const std::string name = entry.path().filename();
      auto [end, error] = std::from_chars(name.data(), name.data() + name.size(), tid);
      if (error == std::errc() && end == name.data() + name.size()) {
        tids.push_back(tid);
      }
      if (tids.size() + tree.tasks.size() > engine::k_max_image_tasks) {
        return make_error("the tree has more than {} tasks", engine::k_max_image_tasks);
      }
    }
    if (ec || tids.empty()) {
      return make_error("cannot list the threads of process {}", process);
    }
    for (const pid_t tid : tids) {
      tree.tasks.push_back(STASIS_TRY(
          task_creds(dir / "task" / std::to_string(tid), process, tid, owner.st_uid)));
    }
  }
  return tree;
}

Result<void> check_tree_owned_by(const engine::TreeCreds& tree, uid_t uid) {
  const auto groups = entitled_groups(uid);
  for (const auto& task : tree.tasks) {
    if (auto why = not_owned_because(task, uid, groups)) {
      return make_error("process {}{} is not uid {}'s own: {}", task.process,
                        task.tid != task.process ? fmt::format(" (thread {})", task.tid)
                                                 : std::string(),
                        uid, *why);
    }
  }
  return ok();
}

} // namespace stasis::manager
