#include "manager/restore_rights.hpp"

#include "engine/read_file.hpp"
#include "engine/swrk_transport.hpp"
#include "manager/unprivileged_worker.hpp"
#include "util/unique_fd.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace stasis::manager {
namespace {

constexpr const char* k_opt_in =
    "root's policy may restore it as root with restore.run-as: root";

std::string name_of(uid_t uid, const UserLookup& lookup) {
  auto user = lookup(uid);
  return user && !user->name.empty() ? fmt::format("uid {} ({})", uid, user->name)
                                     : fmt::format("uid {}", uid);
}

} // namespace

std::string RestoreRights::describe() const {
  if (as_root) {
    return "root";
  }
  return user.name.empty() || user.name == std::to_string(user.uid)
             ? fmt::format("uid {}", user.uid)
             : fmt::format("uid {} ({})", user.uid, user.name);
}

unsigned kernel_cap_last_cap() {
  auto text = engine::read_file("/proc/sys/kernel/cap_last_cap", 64);
  unsigned last = 40;
  if (text) {
    try {
      last = static_cast<unsigned>(std::stoul(*text));
    } catch (...) {
    }
  }
  return std::min(last, 63u);
}

Result<RestoreRights> decide_restore_rights(const engine::TreeCreds& tree,
                                            const RestoreRightsRules& rules,
                                            const UserLookup& lookup,
                                            unsigned cap_last_cap) {
  const engine::TaskCreds* first = nullptr;
  for (const auto& task : tree.tasks) {
    if (!task.zombie) {
      first = &task;
      break;
    }
  }
  if (first == nullptr) {
    return make_error("the checkpoint holds no live process to restore");
  }
  // One user, one group, one group list for every live task?
  const engine::TaskCreds* odd = nullptr;
  for (const auto& task : tree.tasks) {
    if (!task.zombie &&
        (!task.runs_as(first->uid, first->gid) || task.groups != first->groups)) {
      odd = &task;
      break;
    }
  }
  if (rules.owner) {
    const uid_t owner = *rules.owner;
    for (const auto& task : tree.tasks) {
      if (!task.zombie && (task.uid != owner || task.euid != owner ||
                           task.suid != owner || task.fsuid != owner)) {
        return make_error("the checkpoint's process {} (task {}) runs as uid {}, not as "
                          "uid {} whose checkpoint it is; it is not restored",
                          task.process, task.tid, task.uid, owner);
      }
    }
  }
  if (rules.root_allowed || (odd == nullptr && first->uid == 0)) {
    return RestoreRights{};
  }
  if (odd != nullptr) {
    return make_error(
        "the tree runs with several identities (process {} as uid {} gid {}, process {} "
        "as uid {} gid {}); a restore with one user's rights cannot recreate them, and "
        "{}",
        first->process, first->uid, first->gid, odd->process, odd->uid, odd->gid,
        k_opt_in);
  }
  const uid_t uid = first->uid;
  const auto entitled = entitled_groups(uid, lookup);
  for (const auto& task : tree.tasks) {
    if (task.zombie) {
      continue;
    }
    if (task.holds_capabilities()) {
      return make_error(
          "the checkpoint's process {} (task {}) holds capabilities (permitted {:#x}, "
          "effective {:#x}, inheritable {:#x}, ambient {:#x}), which a restore with the "
          "rights of {} cannot give it; {}",
          task.process, task.tid, task.cap_prm, task.cap_eff, task.cap_inh, task.cap_amb,
          name_of(uid, lookup), k_opt_in);
    }
  }
  if (!entitled.contains(first->gid)) {
    return make_error("the tree runs with group {}, which {} does not belong to; {}",
                      first->gid, name_of(uid, lookup), k_opt_in);
  }
  for (const gid_t group : first->groups) {
    if (!entitled.contains(group)) {
      return make_error("the tree holds supplementary group {}, which {} does not belong "
                        "to; {}",
                        group, name_of(uid, lookup), k_opt_in);
    }
  }
  RestoreRights rights;
  rights.as_root = false;
  if (auto user = lookup(uid)) {
    rights.user.name = user->name;
  }
  rights.user.uid = uid;
  rights.user.gid = first->gid;
  rights.user.groups = first->groups;
  std::sort(rights.user.groups.begin(), rights.user.groups.end());
  const std::uint64_t all =
      cap_last_cap >= 63 ? ~0ULL : ((1ULL << (cap_last_cap + 1)) - 1);
  for (const auto& task : tree.tasks) {
    if (!task.zombie && ((task.cap_bnd & all) != all || task.secbits != 0)) {
      rights.needs_setpcap = true;
    }
  }
  return rights;
}

Result<RestoreRights> restore_rights_for(const std::filesystem::path& images_dir,
                                         const RestoreRightsRules& rules) {
  util::UniqueFd dir(::open(images_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) {
    return make_error("cannot open the images {}: {}", images_dir.string(),
                      std::strerror(errno));
  }
  auto tree = engine::read_tree_creds(dir.get());
  if (!tree) {
    return Unexpected(std::move(tree).error());
  }
  return decide_restore_rights(*tree, rules, lookup_uid, kernel_cap_last_cap());
}

Result<void> prepare_restore_dirs(const RestoreRights& rights,
                                  const std::filesystem::path& images_dir,
                                  const std::vector<std::filesystem::path>& writable) {
  if (rights.as_root) {
    return ok();
  }
  util::UniqueFd dir(
      ::open(images_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir || ::fchmod(dir.get(), 0755) != 0) {
    return make_error("cannot open the images {} to uid {}: {}", images_dir.string(),
                      rights.user.uid, std::strerror(errno));
  }
  DIR* listing = ::fdopendir(::dup(dir.get()));
  if (listing == nullptr) {
    return make_error("cannot list {}: {}", images_dir.string(), std::strerror(errno));
  }
  std::unique_ptr<DIR, int (*)(DIR*)> closer(listing, ::closedir);
  while (const dirent* entry = ::readdir(listing)) {
    const std::string_view name = entry->d_name;
    if (name == "." || name == "..") {
      continue;
    }
    util::UniqueFd file(::openat(dir.get(), entry->d_name,
                                 O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    struct stat st {};
    if (!file || ::fstat(file.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
        ::fchmod(file.get(), 0644) != 0) {
      return make_error("cannot make {}/{} readable to uid {}", images_dir.string(), name,
                        rights.user.uid);
    }
  }
  for (const auto& path : writable) {
    util::UniqueFd handed(
        ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!handed || ::fchown(handed.get(), rights.user.uid, rights.user.gid) != 0 ||
        ::fchmod(handed.get(), 0700) != 0) {
      return make_error("cannot hand {} to uid {}: {}", path.string(), rights.user.uid,
                        std::strerror(errno));
    }
  }
  return ok();
}

engine::TransportFactory restore_workers(const std::filesystem::path& criu,
                                         const RestoreRights& rights) {
  if (rights.as_root) {
    return [criu](const engine::WorkerSpec& spec)
               -> Result<std::unique_ptr<engine::CriuTransport>> {
      auto transport = STASIS_TRY(engine::SwrkTransport::spawn(criu, spec));
      return std::unique_ptr<engine::CriuTransport>(std::move(transport));
    };
  }
  return unprivileged_workers(criu, rights.user,
                              restore_worker_caps(rights.needs_setpcap));
}

} // namespace stasis::manager
